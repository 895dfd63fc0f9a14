using WebexGateway.Telemetry;

namespace WebexGateway.Tests.Telemetry;

public sealed class LogRedactionTests
{
    [Theory]
    [InlineData(
        "Request starting HTTP/1.1 GET http://127.0.0.1:5080/auth/callback?code=NWViYz-PF84_96abc&state=CfDJ8EXll_Ky-fo - - -",
        "Request starting HTTP/1.1 GET http://127.0.0.1:5080/auth/callback?code=[redacted]&state=[redacted] - - -")]
    [InlineData("?STATE=abc&Code=def#x", "?STATE=[redacted]&Code=[redacted]#x")]
    [InlineData(
        "HandleChallenge with Location: https://webexapis.com/v1/authorize?client_id=c&response_type=code&code_challenge=Bh_n0&code_challenge_method=S256&state=CfDJ8E-0; and Set-Cookie: .AspNetCore.Correlation.7XEFtW-MXg=N; expires=Fri, 04 Dec 2026 12:47:25 GMT; path=/auth/callback",
        "HandleChallenge with Location: https://webexapis.com/v1/authorize?client_id=c&response_type=code&code_challenge=Bh_n0&code_challenge_method=S256&state=[redacted]; and Set-Cookie: .AspNetCore.Correlation.[redacted]=[redacted]; expires=Fri, 04 Dec 2026 12:47:25 GMT; path=/auth/callback")]
    [InlineData("'__Host-webex-gateway.correlation.abc_D-9' cookie not found.", "'__Host-webex-gateway.correlation.[redacted]' cookie not found.")]
    [InlineData("Cookie: __Host-webex-gateway.session=CfDJ8abc; theme=dark", "Cookie: __Host-webex-gateway.session=[redacted]; theme=dark")]
    [InlineData("webex-gateway.sessionC2=abc", "webex-gateway.sessionC2=[redacted]")]
    [InlineData("grant_type=refresh_token&refresh_token=r1&client_secret=s1", "grant_type=refresh_token&refresh_token=[redacted]&client_secret=[redacted]")]
    [InlineData("Authorization: Bearer eyJ.abc-def", "Authorization: Bearer [redacted]")]
    [InlineData("error_code=5&error_state=x&code_challenge=y", "error_code=5&error_state=x&code_challenge=y")]
    [InlineData("Request finished HTTP/1.1 GET /webex/v1/rooms?max=2 - 200", "Request finished HTTP/1.1 GET /webex/v1/rooms?max=2 - 200")]
    public void Secrets_in_a_text_are_redacted_and_the_rest_is_kept(string text, string redacted) =>
        Assert.Equal(redacted, LogRedaction.Redact(text));
}
