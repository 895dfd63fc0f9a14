using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Time.Testing;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Auth;

[Collection(GatewayCollection.Name)]
public sealed class IncrementalConsentTests(RedisFixture redis, ITestOutputHelper output)
{
    private const string Defaults = "spark:people_read spark:rooms_read spark:messages_write";

    private static readonly Dictionary<string, string?> Allowed = new()
    {
        ["Webex:AllowedScopes"] = "spark:rooms_write spark:memberships_read",
    };

    private static async Task<string[]> AuthorizeScopesAsync(Browser browser, Uri gateway, string query)
    {
        var login = await browser.GetAsync(new Uri(gateway, $"/auth/login?{query}"));
        Assert.Equal(HttpStatusCode.Found, login.StatusCode);
        return QueryHelpers.ParseQuery(login.Headers.Location!.Query)["scope"].ToString().Split(' ');
    }

    /// <summary>Follows the login to the emulator's consent and back to the callback, like <see cref="Browser.SignInAsync"/>.</summary>
    private static async Task SignInAsync(Browser browser, Uri gateway, string query)
    {
        var login = await browser.GetAsync(new Uri(gateway, $"/auth/login?{query}"));
        var consent = await browser.GetAsync(login.Headers.Location!);
        var callback = await browser.GetAsync(consent.Headers.Location!);
        Assert.Equal(HttpStatusCode.Found, callback.StatusCode);
    }

    private static async Task<string[]> UserScopesAsync(Browser browser, Uri gateway)
    {
        using var user = JsonDocument.Parse(await (await browser.GetAsync(new Uri(gateway, "/auth/user"))).Content.ReadAsStringAsync());
        return [.. user.RootElement.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()!)];
    }

    [Fact]
    public async Task A_login_may_ask_for_an_allowed_scope_beyond_the_defaults_and_the_user_shows_it()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Allowed);
        using var browser = world.NewBrowser();

        var asked = await AuthorizeScopesAsync(browser, gateway.Address, "returnUrl=%2Fapps%2Falerts%2F&scope=spark%3Arooms_write");
        await SignInAsync(browser, gateway.Address, "returnUrl=%2Fapps%2Falerts%2F&scope=spark%3Arooms_write");

        string[] expected = [.. Defaults.Split(' '), "spark:rooms_write"];
        Assert.Equal(expected, asked);
        Assert.Equal(expected.Order(), (await UserScopesAsync(browser, gateway.Address)).Order());
    }

    [Fact]
    public async Task Without_a_scope_the_login_asks_for_the_defaults()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Allowed);
        using var browser = world.NewBrowser();

        Assert.Equal(Defaults.Split(' '), await AuthorizeScopesAsync(browser, gateway.Address, "returnUrl=%2F"));
    }

    [Theory]
    [InlineData("spark:admin")]
    [InlineData("spark:rooms_write spark:admin")]
    [InlineData("spark-admin:people_write")]
    public async Task A_scope_not_in_the_allow_list_is_a_400_page_and_no_redirect(string scope)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Allowed);
        using var browser = world.NewBrowser();

        var login = await browser.GetAsync(new Uri(gateway.Address, $"/auth/login?scope={Uri.EscapeDataString(scope)}"));

        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        Assert.Equal("text/html", login.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Webex:AllowedScopes", await login.Content.ReadAsStringAsync());
        Assert.Null(login.Headers.Location);
    }

    [Fact]
    public async Task Without_an_allow_list_only_the_default_scopes_may_be_asked_for()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var defaults = await browser.GetAsync(new Uri(gateway.Address, "/auth/login?scope=spark%3Arooms_read"));
        var more = await browser.GetAsync(new Uri(gateway.Address, "/auth/login?scope=spark%3Arooms_write"));

        Assert.Equal(HttpStatusCode.Found, defaults.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, more.StatusCode);
    }

    [Fact]
    public async Task A_second_app_asking_for_another_scope_keeps_what_the_first_app_was_granted()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Allowed);
        using var browser = world.NewBrowser();
        await SignInAsync(browser, gateway.Address, "returnUrl=%2F&scope=spark%3Arooms_write");

        var asked = await AuthorizeScopesAsync(browser, gateway.Address, "returnUrl=%2F&scope=spark%3Amemberships_read");
        await SignInAsync(browser, gateway.Address, "returnUrl=%2F&scope=spark%3Amemberships_read");

        string[] expected = [.. Defaults.Split(' '), "spark:rooms_write", "spark:memberships_read"];
        Assert.Equal(expected, asked);
        var granted = await UserScopesAsync(browser, gateway.Address);
        Assert.Contains("spark:rooms_write", granted);
        Assert.Contains("spark:memberships_read", granted);
    }

    /// <remarks>
    /// The session ends (idle timeout) but the grant lives on; the person comes back through a plain <c>/auth/login</c>, as
    /// the 401's <c>loginUrl</c> sends them, which does not know who they are and asks Webex for the defaults only. The
    /// callback, now knowing the person, goes back to Webex once for the union with what their grant holds.
    /// </remarks>
    [Fact]
    public async Task Signing_in_again_without_a_session_asks_webex_for_the_scopes_the_grant_holds_too()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = world.AddGateway(Allowed, time);
        using var browser = world.NewBrowser();
        await SignInAsync(browser, gateway.Address, "returnUrl=%2F&scope=spark%3Arooms_write");
        time.Advance(TimeSpan.FromHours(9));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);

        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login?returnUrl=%2Fapp%2F"));
        Assert.Equal(Defaults.Split(' '), Scopes(login.Headers.Location!));
        var callback = await browser.GetAsync((await browser.GetAsync(login.Headers.Location!)).Headers.Location!);

        // Back to Webex, for the union, as the same person.
        Assert.Equal(HttpStatusCode.Found, callback.StatusCode);
        var again = callback.Headers.Location!;
        Assert.StartsWith(new Uri(world.Emulator.BaseUrl, "/v1/authorize").ToString(), again.ToString());
        Assert.Equal([.. Defaults.Split(' '), "spark:rooms_write"], Scopes(again));
        Assert.Equal(world.Person.Email, QueryHelpers.ParseQuery(again.Query)["login_hint"]);
        var done = await browser.GetAsync((await browser.GetAsync(again)).Headers.Location!);
        Assert.Equal(HttpStatusCode.Found, done.StatusCode);
        Assert.Equal("/app/", done.Headers.Location!.OriginalString);
        Assert.Contains("spark:rooms_write", await UserScopesAsync(browser, gateway.Address));

        // What Webex itself says the grant holds: a refresh answers with the refresh token's scopes.
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
        Assert.Contains("spark:rooms_write", await UserScopesAsync(browser, gateway.Address));
    }

    [Fact]
    public async Task When_webex_grants_less_than_the_union_the_sign_in_goes_back_to_webex_only_once()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = world.AddGateway(Allowed, time);
        using var browser = world.NewBrowser();
        await SignInAsync(browser, gateway.Address, "returnUrl=%2F&scope=spark%3Arooms_write");
        time.Advance(TimeSpan.FromHours(9));
        world.Webex.WithheldScopes = new HashSet<string> { "spark:rooms_write" };
        world.Webex.Reset();

        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login?returnUrl=%2Fapp%2F"));
        var again = await browser.GetAsync((await browser.GetAsync(login.Headers.Location!)).Headers.Location!);
        Assert.Contains("spark:rooms_write", Scopes(again.Headers.Location!));
        var done = await browser.GetAsync((await browser.GetAsync(again.Headers.Location!)).Headers.Location!);

        Assert.Equal(HttpStatusCode.Found, done.StatusCode);
        Assert.Equal("/app/", done.Headers.Location!.OriginalString);
        Assert.Equal(2, world.Webex.CodeExchanges);
        Assert.Equal(Defaults.Split(' ').Order(), (await UserScopesAsync(browser, gateway.Address)).Order());
    }

    [Fact]
    public async Task Signing_in_again_with_every_scope_the_grant_holds_goes_straight_back_to_the_app()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = world.AddGateway(Allowed, time);
        using var browser = world.NewBrowser();
        await SignInAsync(browser, gateway.Address, "returnUrl=%2F&scope=spark%3Arooms_write");
        time.Advance(TimeSpan.FromHours(9));
        world.Webex.Reset();

        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login?returnUrl=%2Fapp%2F&scope=spark%3Arooms_write"));
        var done = await browser.GetAsync((await browser.GetAsync(login.Headers.Location!)).Headers.Location!);

        Assert.Equal("/app/", done.Headers.Location!.OriginalString);
        Assert.Equal(1, world.Webex.CodeExchanges);
    }

    private static string[] Scopes(Uri authorize) => QueryHelpers.ParseQuery(authorize.Query)["scope"].ToString().Split(' ');
}
