using WebexGateway.Auth;

namespace WebexGateway.Tests.Auth;

public sealed class ReturnUrlsTests
{
    [Theory]
    [InlineData("/", true)]
    [InlineData("/app/page?x=1#top", true)]
    [InlineData("/%2F%2Fevil", true)]
    [InlineData("//evil", false)]
    [InlineData("/\\evil", false)]
    [InlineData("https://evil", false)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("", false)]
    [InlineData("/app\r\nSet-Cookie: x", false)]
    [InlineData("relative", false)]
    public void Only_local_paths_are_local(string url, bool local) => Assert.Equal(local, ReturnUrls.IsLocal(url));

    [Theory]
    [InlineData("/", "/")]
    [InlineData("/app/page?x=1#top", "/app/page?x=1#top")]
    [InlineData("/%2F%2Fevil", "/%2F%2Fevil")]
    [InlineData("/\u00e9", "/%C3%A9")]
    [InlineData("/caf\u00e9/\u20ac?q=\u00fc#\u00e9", "/caf%C3%A9/%E2%82%AC?q=%C3%BC#%C3%A9")]
    [InlineData("/\u2028x", "/%E2%80%A8x")]
    [InlineData("/\uff0fevil.example", "/%EF%BC%8Fevil.example")]
    [InlineData("/\U0001F600", "/%F0%9F%98%80")]
    [InlineData("/a b\"<>^`{|}\\c", "/a%20b%22%3C%3E%5E%60%7B%7C%7D%5Cc")]
    [InlineData("//evil", null)]
    [InlineData("/\\evil", null)]
    [InlineData("https://evil", null)]
    [InlineData("\uff0f\uff0fevil", null)]
    public void A_local_path_becomes_an_ascii_location_and_anything_else_nothing(string url, string? location) =>
        Assert.Equal(location, ReturnUrls.ToLocation(url));

    [Fact]
    public void A_lone_surrogate_becomes_the_replacement_character() =>
        Assert.Equal("/%EF%BF%BDx", ReturnUrls.ToLocation("/\ud800x"));
}
