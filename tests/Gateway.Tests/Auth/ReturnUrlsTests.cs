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
}
