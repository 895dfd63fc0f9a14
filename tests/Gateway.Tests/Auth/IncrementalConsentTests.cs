using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
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
}
