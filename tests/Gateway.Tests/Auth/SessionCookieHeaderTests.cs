using Microsoft.Extensions.Primitives;
using WebexGateway.Auth;

namespace WebexGateway.Tests.Auth;

public sealed class SessionCookieHeaderTests
{
    private const string Name = AuthExtensions.SessionCookieName;

    [Theory]
    [InlineData(Name + "=CfDJ8abc-_123", "CfDJ8abc-_123")]
    [InlineData("theme=dark; " + Name + "=CfDJ8abc; lang=en", "CfDJ8abc")]
    [InlineData("theme=dark;" + Name + "=CfDJ8abc;lang=en", "CfDJ8abc")]
    [InlineData("  " + Name + "=CfDJ8abc  ", "CfDJ8abc")]
    [InlineData(Name + "C1=x; " + Name + "=CfDJ8abc", "CfDJ8abc")]
    [InlineData(Name + "=chunks-2; " + Name + "C1=ab; " + Name + "C2=cd", "chunks-2")]
    public void A_plain_session_cookie_is_read_in_place(string header, string expected)
    {
        Assert.True(SessionCookieHeader.TryRead(new StringValues(header), Name, out var value));
        Assert.Equal(expected, value.ToString());
    }

    [Fact]
    public void The_cookie_is_found_in_any_of_several_Cookie_headers()
    {
        Assert.True(SessionCookieHeader.TryRead(new StringValues(["theme=dark", Name + "=CfDJ8abc"]), Name, out var value));
        Assert.Equal("CfDJ8abc", value.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("theme=dark; lang=en")]
    [InlineData("x" + Name + "=CfDJ8abc")]
    [InlineData(Name + "=")]
    [InlineData(Name)]
    [InlineData(Name + "=\"CfDJ8abc\"")]
    [InlineData(Name + "=CfDJ8%2Fabc")]
    [InlineData(Name + "=CfDJ8 abc")]
    [InlineData(Name + "=CfDJ8,abc")]
    [InlineData(Name + "=CfDJ8abc; " + Name + "=CfDJ8abc")]
    [InlineData(Name + "=CfDJ8abc; " + Name + "=other")]
    [InlineData(Name + "=CfDJ8abc; WEBEX-GATEWAY.SESSION=other")]
    [InlineData("WEBEX-GATEWAY.SESSION=CfDJ8abc")]
    public void Anything_but_one_plain_cookie_of_the_exact_name_is_left_to_ASP_NET_Cores_parser(string? header)
    {
        Assert.False(SessionCookieHeader.TryRead(new StringValues(header), Name, out var value));
        Assert.True(value.IsEmpty);
    }
}
