using Microsoft.Extensions.Primitives;
using WebexGateway.Proxy;

namespace WebexGateway.Tests.Proxy;

public sealed class LinkHeadersTests
{
    private const string Api = "https://webexapis.com";

    [Theory]
    [InlineData("<https://webexapis.com/v1/rooms?max=2&cursor=abc>; rel=\"next\"", "</webex/v1/rooms?max=2&cursor=abc>; rel=\"next\"")]
    [InlineData("<https://WEBEXAPIS.com/v1/people?x=1>; rel=\"next\", <https://webexapis.com/v1/people?x=0>; rel=\"first\"",
        "</webex/v1/people?x=1>; rel=\"next\", </webex/v1/people?x=0>; rel=\"first\"")]
    [InlineData("<https://webexapis.com.evil.example/v1/rooms>; rel=\"next\"", "<https://webexapis.com.evil.example/v1/rooms>; rel=\"next\"")]
    [InlineData("<https://other.example/v1/rooms>; rel=\"next\"", "<https://other.example/v1/rooms>; rel=\"next\"")]
    [InlineData("malformed <no end", "malformed <no end")]
    public void Links_to_the_api_point_at_the_gateway_and_others_stay(string link, string expected)
        => Assert.Equal(expected, LinkHeaders.Rewrite(new StringValues(link), Api, "/webex").ToString());
}
