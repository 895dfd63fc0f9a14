using System.Net;

namespace Webex.Emulator.Tests;

public sealed class AuthorizeTests
{
    [Fact]
    public async Task AutoApprove_RedirectsToTheRedirectUriWithACodeAndTheStateEchoedExactly()
    {
        await using var h = await Harness.StartAsync();
        const string state = "a b+c/d?e=f&g~%é";

        using var response = await h.AuthorizeAsync(Harness.NewPkce().Challenge, state);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(Harness.RedirectUri + "?", response.Headers.Location!.OriginalString);
        var parameters = Harness.RedirectParameters(response);
        Assert.Equal(state, parameters["state"]);
        Assert.True(parameters["code"].Length >= 64);
        Assert.Contains(parameters["code"], h.State.IssuedSecrets);
    }

    [Fact]
    public async Task AutoApprove_OmitsStateWhenNoneWasSent()
    {
        await using var h = await Harness.StartAsync();

        using var response = await h.AuthorizeAsync(challenge: null, state: null);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var parameters = Harness.RedirectParameters(response);
        Assert.True(parameters.ContainsKey("code"));
        Assert.False(parameters.ContainsKey("state"));
    }

    [Fact]
    public async Task RedirectUriWithAQuery_KeepsItsQuery()
    {
        await using var h = await Harness.StartAsync();

        using var response = await h.AuthorizeAsync(null, redirectUri: "https://app.example.com/cb?tenant=7");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith("https://app.example.com/cb?tenant=7&code=", response.Headers.Location!.OriginalString);
    }

    [Theory]
    [InlineData("client_id=unknown&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&scope=spark%3Aall")]
    [InlineData("response_type=code&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&scope=spark%3Aall")]
    [InlineData("client_id=" + Harness.ClientId + "&response_type=code&scope=spark%3Aall")]
    [InlineData("client_id=" + Harness.ClientId + "&response_type=code&redirect_uri=not-absolute&scope=spark%3Aall")]
    [InlineData("client_id=" + Harness.ClientId + "&response_type=token&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&scope=spark%3Aall")]
    [InlineData("client_id=" + Harness.ClientId + "&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&scope=spark%3Aall")]
    public async Task InvalidClientRedirectUriOrResponseType_Answers400HtmlWithoutRedirecting(string query)
    {
        await using var h = await Harness.StartAsync();

        using var response = await h.Http.GetAsync(h.Url("/v1/authorize?" + query));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<title>Webex</title>", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("")]
    public async Task ChallengeMethodOtherThanS256_RedirectsWithInvalidRequest(string method)
    {
        await using var h = await Harness.StartAsync();
        var query = $"client_id={Harness.ClientId}&response_type=code&redirect_uri={Uri.EscapeDataString(Harness.RedirectUri)}&scope=spark%3Aall"
            + $"&state=s1&code_challenge={Harness.NewPkce().Challenge}" + (method.Length > 0 ? "&code_challenge_method=" + method : "");

        using var response = await h.Http.GetAsync(h.Url("/v1/authorize?" + query));

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var parameters = Harness.RedirectParameters(response);
        Assert.Equal("invalid_request", parameters["error"]);
        Assert.Equal("s1", parameters["state"]);
        Assert.False(parameters.ContainsKey("code"));
    }

    [Fact]
    public async Task Deny_RedirectsWithAccessDenied()
    {
        await using var h = await Harness.StartAsync(o => o.Consent = ConsentMode.Deny);

        using var response = await h.AuthorizeAsync(Harness.NewPkce().Challenge, "st");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var parameters = Harness.RedirectParameters(response);
        Assert.Equal("access_denied", parameters["error"]);
        Assert.False(string.IsNullOrEmpty(parameters["error_description"]));
        Assert.Equal("st", parameters["state"]);
        Assert.Empty(h.State.IssuedSecrets);
    }

    [Fact]
    public async Task ConsentModeChangedAtRunTime_AppliesToTheNextRequest()
    {
        await using var h = await Harness.StartAsync();
        h.State.Consent = ConsentMode.Deny;

        using var response = await h.AuthorizeAsync(null);

        Assert.Equal("access_denied", Harness.RedirectParameters(response)["error"]);
    }
}
