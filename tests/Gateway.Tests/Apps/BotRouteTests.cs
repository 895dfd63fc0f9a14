using System.Net;
using System.Text.Json;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Apps;

[Collection(GatewayCollection.Name)]
public sealed class BotRouteTests(RedisFixture redis, ITestOutputHelper output)
{
    /// <summary>
    /// A world whose second person plays the team's bot: it signs in once at a throwaway gateway, and the access token the
    /// emulator issued to it becomes <c>Webex:Bots:alerts:Token</c> of the gateway under test.
    /// </summary>
    private static async Task<(TestWorld World, string BotToken, string BotId)> WorldWithBotAsync(RedisFixture redis, ITestOutputHelper output)
    {
        var world = await TestWorld.StartAsync(redis, output, options => options.AddGeneratedPeople(1));
        var bot = world.Webex.People[1];
        var minting = world.AddGateway();
        using var botBrowser = world.NewBrowser();
        await botBrowser.SignInAsync(minting.Address, loginHint: bot.Email);
        return (world, world.Webex.LastAccessTokenFor(bot.Id)!, bot.Id);
    }

    private static Dictionary<string, string?> BotSettings(string token, bool isPublic = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Webex:Bots:alerts:Token"] = token,
            ["ReverseProxy:Routes:alerts-bot:ClusterId"] = "webex",
            ["ReverseProxy:Routes:alerts-bot:Match:Path"] = "/bots/alerts/{**path}",
            ["ReverseProxy:Routes:alerts-bot:Metadata:WebexToken"] = "Bot:alerts",
        };
        if (isPublic)
        {
            settings["ReverseProxy:Routes:alerts-bot:Metadata:Public"] = "true";
        }

        return settings;
    }

    [Fact]
    public async Task A_bot_route_sends_the_configured_bot_token_to_webex_never_the_users()
    {
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var (gateway, browser) = await world.SignedInAsync(BotSettings(botToken));
        var userToken = world.Webex.LastAccessTokenFor(world.Person.Id);
        world.Webex.Reset();

        var me = await browser.GetAsync(new Uri(gateway.Address, "/bots/alerts/v1/people/me"), csrf: true);
        var message = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/bots/alerts/v1/messages"),
            Browser.Json($$"""{"roomId":"{{world.Webex.RoomIdsFor(botId)[0]}}","text":"disk full"}"""));

        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var json = JsonDocument.Parse(await me.Content.ReadAsStringAsync());
        Assert.Equal(botId, json.RootElement.GetProperty("id").GetString());
        Assert.True(message.IsSuccessStatusCode, $"{(int)message.StatusCode}: {await message.Content.ReadAsStringAsync()}");
        Assert.Equal(["/v1/people/me", "/v1/messages"], world.Webex.Requests.Select(r => r.RawTarget));
        Assert.All(world.Webex.Requests, r =>
        {
            Assert.Equal($"Bearer {botToken}", r.Headers["Authorization"]);
            Assert.False(r.Headers.ContainsKey("Cookie"));
        });
        Assert.DoesNotContain(world.Webex.Requests, r => r.Headers["Authorization"].Contains(userToken!, StringComparison.Ordinal));

        // The user's own route is unchanged beside it.
        var mine = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
        using var mineJson = JsonDocument.Parse(await mine.Content.ReadAsStringAsync());
        Assert.Equal(world.Person.Id, mineJson.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_bot_route_still_requires_a_session_and_the_csrf_header()
    {
        var (world, botToken, _) = await WorldWithBotAsync(redis, output);
        await using var __ = world;
        var (gateway, browser) = await world.SignedInAsync(BotSettings(botToken));
        using var stranger = world.NewBrowser();
        world.Webex.Reset();

        var noCsrf = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/bots/alerts/v1/messages"), Browser.Json("{}"), csrf: false);
        var noSession = await stranger.GetAsync(new Uri(gateway.Address, "/bots/alerts/v1/people/me"), csrf: true);
        var dotted = await browser.GetAsync(new Uri(gateway.Address, "/bots/alerts/v1/people/%2e%2e%2fme"), csrf: true);

        Assert.Equal(HttpStatusCode.Forbidden, noCsrf.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noSession.StatusCode);
        using var json = JsonDocument.Parse(await noSession.Content.ReadAsStringAsync());
        Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, dotted.StatusCode);
        Assert.Empty(world.Webex.Requests);
    }

    [Theory]
    [InlineData("logout")]
    [InlineData("invalid_grant")]
    public async Task A_bot_route_refuses_a_session_whose_person_lost_the_grant_in_another_browser(string howTheGrantEnds)
    {
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var (gateway, first) = await world.SignedInAsync(BotSettings(botToken));
        using var second = world.NewBrowser();
        await second.SignInAsync(gateway.Address);
        var me = new Uri(gateway.Address, "/bots/alerts/v1/people/me");
        var messages = new Uri(gateway.Address, "/bots/alerts/v1/messages");
        var post = $$"""{"roomId":"{{world.Webex.RoomIdsFor(botId)[0]}}","text":"disk full"}""";
        // Both sessions can use the bot while their person has a grant.
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync(me, csrf: true)).StatusCode);

        if (howTheGrantEnds == "logout")
        {
            Assert.Equal(HttpStatusCode.NoContent, (await first.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"))).StatusCode);
        }
        else
        {
            world.Webex.RevokeRefreshTokens();
            world.Webex.ExpireAccessTokens(world.Person.Id);
            var refused = await first.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal(1, world.Webex.RefreshCallsFor(world.Person.Id));
        }

        world.Webex.Reset();
        var userRoute = await second.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
        var botMe = await second.GetAsync(me, csrf: true);
        var botPost = await second.SendAsync(HttpMethod.Post, messages, Browser.Json(post));

        foreach (var response in new[] { userRoute, botMe, botPost })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
        }

        Assert.Empty(world.Webex.Requests);
        Assert.Equal(0, world.Webex.TokenCalls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_public_bot_route_needs_neither_session_nor_csrf_header(bool lowerCaseKeys)
    {
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var settings = BotSettings(botToken, isPublic: true);
        if (lowerCaseKeys)
        {
            // Configuration keys are case-insensitive: the metadata's are too.
            settings = settings.ToDictionary(s => s.Key.Replace(":Metadata:WebexToken", ":metadata:webextoken").Replace(":Metadata:Public", ":metadata:public"), s => s.Value);
        }

        var gateway = world.AddGateway(settings);
        using var stranger = world.NewBrowser();
        world.Webex.Reset();

        var me = await stranger.GetAsync(new Uri(gateway.Address, "/bots/alerts/v1/people/me"));
        var userRoute = await stranger.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"));

        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var json = JsonDocument.Parse(await me.Content.ReadAsStringAsync());
        Assert.Equal(botId, json.RootElement.GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, userRoute.StatusCode);
        Assert.Equal($"Bearer {botToken}", Assert.Single(world.Webex.Requests).Headers["Authorization"]);
    }

    [Fact]
    public async Task Webex_refusing_the_bot_token_is_a_502_that_says_so_with_no_refresh_no_replay_and_no_token_in_the_logs()
    {
        var (world, botToken, _) = await WorldWithBotAsync(redis, output);
        await using var __ = world;
        var (gateway, browser) = await world.SignedInAsync(BotSettings(botToken));
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();

        var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/bots/alerts/v1/messages"),
            Browser.Json("""{"toPersonEmail":"x@example.com","text":"hello"}"""));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("bot_token_invalid", json.RootElement.GetProperty("error").GetString());
        Assert.Contains("Webex:Bots:alerts:Token", json.RootElement.GetProperty("message").GetString());
        Assert.Single(world.Webex.Requests);
        Assert.Equal(0, world.Webex.TokenCalls);
        Assert.Contains(gateway.Logs, line => line.Contains("bot 'alerts'", StringComparison.Ordinal));
        Assert.DoesNotContain(gateway.Logs, line => line.Contains(botToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_route_naming_a_bot_without_a_token_fails_at_start_naming_the_key()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = BotSettings("unused");
        settings.Remove("Webex:Bots:alerts:Token");
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, settings: settings, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("Webex:Bots:alerts:Token", error.Message);
        Assert.Contains("ReverseProxy:Routes:alerts-bot", error.Message);
    }

    [Theory]
    [InlineData("user", null)]
    [InlineData("Bot:", null)]
    [InlineData("User", "true")]
    [InlineData("Bot:alerts", "yes")]
    public async Task Unknown_token_metadata_fails_at_start_naming_the_route(string webexToken, string? isPublic)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = BotSettings("a-token");
        settings["ReverseProxy:Routes:alerts-bot:Metadata:WebexToken"] = webexToken;
        settings["ReverseProxy:Routes:alerts-bot:Metadata:Public"] = isPublic;
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, settings: settings, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("ReverseProxy:Routes:alerts-bot:Metadata", error.Message);
    }

    [Fact]
    public async Task A_webex_route_whose_path_is_not_a_prefix_and_catch_all_fails_at_start()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = BotSettings("a-token");
        settings["ReverseProxy:Routes:alerts-bot:Match:Path"] = "/bots/{name}/{**path}";
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, settings: settings, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("ReverseProxy:Routes:alerts-bot:Match:Path", error.Message);
    }
}
