using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Webex.Emulator;
using WebexGateway.Auth;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Auth;

[Collection(GatewayCollection.Name)]
public sealed class SignInTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task Login_redirects_to_authorize_with_every_parameter_and_the_emulator_verifies_pkce()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login?returnUrl=%2Fapp%2Fhome%3Ftab%3D1"));

        Assert.Equal(HttpStatusCode.Found, login.StatusCode);
        var authorize = login.Headers.Location!;
        Assert.Equal(new Uri(world.Emulator.BaseUrl, "/v1/authorize").GetLeftPart(UriPartial.Path), authorize.GetLeftPart(UriPartial.Path));
        var query = QueryHelpers.ParseQuery(authorize.Query);
        Assert.Equal(GatewayHost.ClientId, query["client_id"]);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(new Uri(gateway.Address, "/auth/callback").ToString(), query["redirect_uri"]);
        Assert.Equal("spark:people_read spark:rooms_read spark:messages_write", query["scope"]);
        Assert.False(string.IsNullOrEmpty(query["state"]));
        Assert.Equal(43, query["code_challenge"].ToString().Length); // BASE64URL(SHA-256) without padding
        Assert.Equal("S256", query["code_challenge_method"]);

        var consent = await browser.GetAsync(authorize);
        var callback = await browser.GetAsync(consent.Headers.Location!);

        Assert.Equal(HttpStatusCode.Found, callback.StatusCode);
        Assert.Equal("/app/home?tab=1", callback.Headers.Location!.OriginalString);
        Assert.Equal(1, world.Webex.CodeExchanges);
        var session = callback.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith($"{AuthExtensions.SessionCookieName}=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", session, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", session.Replace("samesite", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task User_endpoint_describes_the_grant_without_any_token()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();

        var response = await browser.GetAsync(new Uri(gateway.Address, "/auth/user"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var person = world.Emulator.State;
        Assert.Equal(world.Person.Id, json.RootElement.GetProperty("id").GetString());
        Assert.Equal(world.Person.DisplayName, json.RootElement.GetProperty("displayName").GetString());
        Assert.Equal(world.Person.Email, json.RootElement.GetProperty("emails")[0].GetString());
        Assert.Equal(["spark:people_read", "spark:rooms_read", "spark:messages_write"],
            json.RootElement.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        var expiresAt = json.RootElement.GetProperty("accessTokenExpiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, DateTimeOffset.UtcNow.AddDays(13), DateTimeOffset.UtcNow.AddDays(15));
        Assert.Equal(["accessTokenExpiresAt", "displayName", "emails", "id", "scopes"],
            json.RootElement.EnumerateObject().Select(p => p.Name).Order());
        foreach (var secret in person.IssuedSecrets)
        {
            Assert.DoesNotContain(secret, body);
        }
    }

    [Fact]
    public async Task Without_a_session_user_is_401_login_required_with_a_login_url()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var response = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/auth/user"),
            headers: h => h.Referrer = new Uri(gateway.Address, "/app/page?x=1"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
        Assert.Equal("/auth/login?returnUrl=%2Fapp%2Fpage%3Fx%3D1", json.RootElement.GetProperty("loginUrl").GetString());
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("javascript:alert(1)")]
    [InlineData("evil")]
    public async Task Login_refuses_a_return_url_that_is_not_a_local_path(string returnUrl)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var response = await browser.GetAsync(new Uri(gateway.Address, $"/auth/login?returnUrl={Uri.EscapeDataString(returnUrl)}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("text/html", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("returnUrl", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Declined_consent_is_a_403_page_and_no_session()
    {
        await using var world = await TestWorld.StartAsync(redis, output, o => o.Consent = ConsentMode.Deny);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login"));
        var denied = await browser.GetAsync(login.Headers.Location!);
        Assert.Contains("error=access_denied", denied.Headers.Location!.Query);
        var callback = await browser.GetAsync(denied.Headers.Location!);

        Assert.Equal(HttpStatusCode.Forbidden, callback.StatusCode);
        Assert.Contains("declined", await callback.Content.ReadAsStringAsync());
        Assert.Null(browser.SessionCookie(gateway.Address));
        Assert.Equal(0, world.Webex.TokenCalls);
    }

    [Fact]
    public async Task Callback_without_state_or_with_a_forged_state_is_400_and_never_exchanges_the_code()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();
        var callbackUrl = await browser.ConsentAsync(gateway.Address);
        var code = QueryHelpers.ParseQuery(callbackUrl.Query)["code"].ToString();

        var missing = await browser.GetAsync(new Uri(gateway.Address, $"/auth/callback?code={code}"));
        var forged = await browser.GetAsync(new Uri(gateway.Address, $"/auth/callback?code={code}&state=forged-state"));

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("text/html", forged.Content.Headers.ContentType!.ToString());
        Assert.Null(browser.SessionCookie(gateway.Address));
        Assert.Equal(0, world.Webex.TokenCalls);
    }

    [Fact]
    public async Task A_state_from_another_browser_is_refused()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var victim = world.NewBrowser();
        using var attacker = world.NewBrowser();

        // The attacker starts a login and gets the victim to open the callback with the attacker's code and state.
        var callbackUrl = await attacker.ConsentAsync(gateway.Address);
        var callback = await victim.GetAsync(callbackUrl);

        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        Assert.Null(victim.SessionCookie(gateway.Address));
        Assert.Equal(0, world.Webex.TokenCalls);
    }

    [Fact]
    public async Task A_callback_replayed_with_the_same_state_and_cookie_is_refused()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();
        var callbackUrl = await browser.ConsentAsync(gateway.Address);
        var correlation = browser.Cookies.GetCookies(new Uri(gateway.Address, "/auth/callback")).Single(c => c.Name.StartsWith(".AspNetCore.Correlation", StringComparison.Ordinal));

        var first = await browser.GetAsync(callbackUrl);
        Assert.Equal(HttpStatusCode.Found, first.StatusCode);
        using var replayer = world.NewBrowser();
        replayer.Cookies.Add(new Uri(gateway.Address, "/auth/callback"), new System.Net.Cookie(correlation.Name, correlation.Value, correlation.Path));
        var replay = await replayer.GetAsync(callbackUrl);

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Contains("already used", await replay.Content.ReadAsStringAsync());
        Assert.Null(replayer.SessionCookie(gateway.Address));
        Assert.Equal(1, world.Webex.CodeExchanges);
    }

    [Fact]
    public async Task A_failing_token_endpoint_during_sign_in_is_a_502_page_and_no_session()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();
        var callbackUrl = await browser.ConsentAsync(gateway.Address);
        world.Webex.TokenFault = TokenEndpointFault.ServerError;

        var callback = await browser.GetAsync(callbackUrl);

        Assert.Equal(HttpStatusCode.BadGateway, callback.StatusCode);
        Assert.Contains("Webex", await callback.Content.ReadAsStringAsync());
        Assert.Null(browser.SessionCookie(gateway.Address));
    }

    [Fact]
    public async Task Wrong_client_secret_is_a_502_page_naming_the_setting()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Webex:ClientSecret"] = "wrong" });
        using var browser = world.NewBrowser();
        var callbackUrl = await browser.ConsentAsync(gateway.Address);

        var callback = await browser.GetAsync(callbackUrl);

        Assert.Equal(HttpStatusCode.BadGateway, callback.StatusCode);
        Assert.Contains("Webex:ClientSecret", await callback.Content.ReadAsStringAsync());
        Assert.Null(browser.SessionCookie(gateway.Address));
    }

    [Fact]
    public async Task Logout_needs_the_csrf_header_then_ends_the_session_everywhere_and_deletes_the_grant()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (first, browser) = await world.SignedInAsync();
        var second = world.AddGateway();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(second.Address, "/auth/user"))).StatusCode);

        var withoutHeader = await browser.SendAsync(HttpMethod.Post, new Uri(first.Address, "/auth/logout"), csrf: false);
        Assert.Equal(HttpStatusCode.Forbidden, withoutHeader.StatusCode);
        Assert.Contains("X-CSRF", await withoutHeader.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(second.Address, "/auth/user"))).StatusCode);

        // A copy of the cookie, as another tab or a stolen cookie would hold it.
        using var copy = world.NewBrowser();
        copy.Cookies.Add(second.Address, new System.Net.Cookie(AuthExtensions.SessionCookieName, browser.SessionCookie(first.Address)));

        var logout = await browser.SendAsync(HttpMethod.Post, new Uri(first.Address, "/auth/logout"));

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await copy.GetAsync(new Uri(second.Address, "/auth/user"))).StatusCode);
        var keys = await world.Redis.DumpAsync(world.KeyPrefix);
        Assert.DoesNotContain(keys.Keys, k => k.Contains(":grant:", StringComparison.Ordinal) || k.Contains(":session:", StringComparison.Ordinal));
    }
}
