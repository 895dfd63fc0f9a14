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
    internal static async Task<(TestWorld World, string BotToken, string BotId)> WorldWithBotAsync(RedisFixture redis, ITestOutputHelper output)
    {
        var world = await TestWorld.StartAsync(redis, output, options => options.AddGeneratedPeople(1));
        var bot = world.Webex.People[1];
        var minting = world.AddGateway();
        using var botBrowser = world.NewBrowser();
        await botBrowser.SignInAsync(minting.Address, loginHint: bot.Email);
        return (world, world.Webex.LastAccessTokenFor(bot.Id)!, bot.Id);
    }

    /// <summary>The route <c>alerts-bot</c>: <c>/bots/alerts/{**path}</c> as the bot <c>alerts</c>, with <c>Allow</c> when given.</summary>
    internal static Dictionary<string, string?> BotSettings(string token, bool isPublic = false, string? allow = null, string matchPath = "/bots/alerts/{**path}")
    {
        var settings = new Dictionary<string, string?>
        {
            ["Webex:Bots:alerts:Token"] = token,
            ["ReverseProxy:Routes:alerts-bot:ClusterId"] = "webex",
            ["ReverseProxy:Routes:alerts-bot:Match:Path"] = matchPath,
            ["ReverseProxy:Routes:alerts-bot:Metadata:WebexToken"] = "Bot:alerts",
        };
        if (isPublic)
        {
            settings["ReverseProxy:Routes:alerts-bot:Metadata:Public"] = "true";
        }

        if (allow is not null)
        {
            settings["ReverseProxy:Routes:alerts-bot:Metadata:Allow"] = allow;
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
    public async Task A_public_bot_route_posts_a_json_message_with_neither_session_nor_csrf_header(bool lowerCaseKeys)
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

        var posted = await stranger.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/bots/alerts/v1/messages"),
            Browser.Json($$"""{"roomId":"{{world.Webex.RoomIdsFor(botId)[0]}}","text":"disk full"}"""), csrf: false);
        var userRoute = await stranger.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"));

        Assert.True(posted.StatusCode == HttpStatusCode.OK, $"{(int)posted.StatusCode}: {await posted.Content.ReadAsStringAsync()}");
        using var json = JsonDocument.Parse(await posted.Content.ReadAsStringAsync());
        Assert.Equal(botId, json.RootElement.GetProperty("personId").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, userRoute.StatusCode);
        var request = Assert.Single(world.Webex.Requests);
        Assert.Equal(("POST", "/v1/messages"), (request.Method, request.RawTarget));
        Assert.Equal($"Bearer {botToken}", request.Headers["Authorization"]);
    }

    [Theory]
    [InlineData("GET", "/v1/rooms")]
    [InlineData("GET", "/v1/messages?roomId={room}")]
    [InlineData("GET", "/v1/people/me")]
    [InlineData("GET", "/v1/messages/{room}")]
    [InlineData("DELETE", "/v1/messages/{room}")]
    [InlineData("PUT", "/v1/messages")]
    [InlineData("POST", "/v1/rooms")]
    [InlineData("POST", "/v1/memberships")]
    public async Task A_public_bot_route_refuses_anything_but_posting_a_message_before_webex_is_called(string method, string webexTarget)
    {
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var gateway = world.AddGateway(BotSettings(botToken, isPublic: true));
        using var stranger = world.NewBrowser();
        var target = webexTarget.Replace("{room}", Uri.EscapeDataString(world.Webex.RoomIdsFor(botId)[0]), StringComparison.Ordinal);
        world.Webex.Reset();

        var response = await stranger.SendAsync(new HttpMethod(method), new Uri(gateway.Address, "/bots/alerts" + target),
            method is "GET" or "DELETE" ? null : Browser.Json("""{"roomId":"x","text":"hi"}"""), csrf: false);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("bot_route_not_allowed", json.RootElement.GetProperty("error").GetString());
        Assert.Empty(world.Webex.Requests);
    }

    [Theory]
    [InlineData("text/plain", 415)]
    [InlineData("text/plain;charset=UTF-8", 415)]
    [InlineData("application/x-www-form-urlencoded", 415)]
    [InlineData("multipart/form-data; boundary=x", 415)]
    [InlineData("application/jsonp", 415)]
    [InlineData("application/json; profile=x", 415)]
    [InlineData(null, 415)]
    [InlineData("application/json", 200)]
    [InlineData("application/json; charset=utf-8", 200)]
    [InlineData("Application/JSON;Charset=UTF-8", 200)]
    public async Task A_public_bot_route_takes_a_body_only_as_json(string? contentType, int expected)
    {
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var gateway = world.AddGateway(BotSettings(botToken, isPublic: true));
        using var stranger = world.NewBrowser();
        world.Webex.Reset();
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes($$"""{"roomId":"{{world.Webex.RoomIdsFor(botId)[0]}}","text":"posted cross-site?"}"""));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        var response = await stranger.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/bots/alerts/v1/messages"), content, csrf: false);

        Assert.True((int)response.StatusCode == expected, $"{contentType}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        if (expected == 415)
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("unsupported_media_type", json.RootElement.GetProperty("error").GetString());
            Assert.Empty(world.Webex.Requests);
        }
        else
        {
            Assert.Equal("/v1/messages", Assert.Single(world.Webex.Requests).RawTarget);
        }
    }

    [Fact]
    public async Task A_non_public_bot_route_takes_any_body_its_app_sends()
    {
        // Only a public route needs the JSON rule: a signed-in route's X-CSRF header already needs a preflight cross-site.
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var (gateway, browser) = await world.SignedInAsync(BotSettings(botToken));
        world.Webex.Reset();

        var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/bots/alerts/v1/messages"),
            new StringContent($$"""{"roomId":"{{world.Webex.RoomIdsFor(botId)[0]}}","text":"hi"}""", System.Text.Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/v1/messages", Assert.Single(world.Webex.Requests).RawTarget);
    }

    [Fact]
    public async Task A_configured_allow_list_widens_a_public_route_and_narrows_a_signed_in_one()
    {
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var room = Uri.EscapeDataString(world.Webex.RoomIdsFor(botId)[0]);
        var wide = world.AddGateway(BotSettings(botToken, isPublic: true, allow: "GET /v1/rooms, get /v1/rooms/*, POST /v1/messages"));
        var (narrow, browser) = await world.SignedInAsync(BotSettings(botToken, allow: "GET /v1/people/me"));
        using var stranger = world.NewBrowser();
        world.Webex.Reset();

        var rooms = await stranger.GetAsync(new Uri(wide.Address, "/bots/alerts/v1/rooms"));
        var oneRoom = await stranger.GetAsync(new Uri(wide.Address, $"/bots/alerts/v1/rooms/{room}"));
        var history = await stranger.GetAsync(new Uri(wide.Address, $"/bots/alerts/v1/messages?roomId={room}"));
        var deleteRoom = await stranger.SendAsync(HttpMethod.Delete, new Uri(wide.Address, $"/bots/alerts/v1/rooms/{room}"), csrf: false);
        var me = await browser.GetAsync(new Uri(narrow.Address, "/bots/alerts/v1/people/me"), csrf: true);
        var post = await browser.SendAsync(HttpMethod.Post, new Uri(narrow.Address, "/bots/alerts/v1/messages"), Browser.Json($$"""{"roomId":"{{room}}","text":"hi"}"""));
        var people = await browser.GetAsync(new Uri(narrow.Address, "/bots/alerts/v1/people/me/x"), csrf: true);

        Assert.Equal(HttpStatusCode.OK, rooms.StatusCode);
        Assert.Equal(HttpStatusCode.OK, oneRoom.StatusCode);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        foreach (var refused in new[] { history, deleteRoom, post, people })
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            using var json = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal("bot_route_not_allowed", json.RootElement.GetProperty("error").GetString());
        }

        Assert.Equal(["GET /v1/rooms", $"GET /v1/rooms/{room}", "GET /v1/people/me"], world.Webex.Requests.Select(r => $"{r.Method} {r.RawTarget}"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_route_naming_a_webex_path_forwards_to_that_path(bool isPublic)
    {
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var settings = BotSettings(botToken, isPublic, allow: isPublic ? null : "POST /v1/messages, GET /v1/messages/*", matchPath: "/bots/msg/v1/messages/{**path}");
        var (gateway, browser) = await world.SignedInAsync(settings);
        var room = world.Webex.RoomIdsFor(botId)[0];
        world.Webex.Reset();

        var posted = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/bots/msg/v1/messages"), Browser.Json($$"""{"roomId":"{{room}}","text":"hi"}"""));
        var postedUpperCase = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/BOTS/MSG/V1/MESSAGES"), Browser.Json($$"""{"roomId":"{{room}}","text":"hi"}"""));
        var id = JsonDocument.Parse(await posted.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var read = await browser.GetAsync(new Uri(gateway.Address, $"/bots/msg/v1/messages/{Uri.EscapeDataString(id)}?x=1"), csrf: true);
        var elsewhere = await browser.GetAsync(new Uri(gateway.Address, "/bots/msg/v1/rooms"), csrf: true);

        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, postedUpperCase.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        var expected = new List<string> { "POST /v1/messages", "POST /v1/messages" };
        if (isPublic)
        {
            // Reading is not in a public route's default list.
            Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            expected.Add($"GET /v1/messages/{Uri.EscapeDataString(id)}?x=1");
        }

        Assert.Equal(expected, world.Webex.Requests.Select(r => $"{r.Method} {r.RawTarget}"));
    }

    [Fact]
    public async Task A_route_naming_a_webex_path_points_webex_links_back_at_itself()
    {
        var (world, botToken, botId) = await WorldWithBotAsync(redis, output);
        await using var _ = world;
        var settings = BotSettings(botToken, allow: "POST /v1/messages, GET /v1/messages", matchPath: "/bots/msg/v1/messages/{**path}");
        var (gateway, browser) = await world.SignedInAsync(settings);
        var room = world.Webex.RoomIdsFor(botId)[0];
        for (var i = 0; i < 2; i++)
        {
            var posted = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/bots/msg/v1/messages"), Browser.Json($$"""{"roomId":"{{room}}","text":"{{i}}"}"""));
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }

        var first = await browser.GetAsync(new Uri(gateway.Address, $"/bots/msg/v1/messages?roomId={Uri.EscapeDataString(room)}&max=1"), csrf: true);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var link = Assert.Single(first.Headers.GetValues("Link"));
        Assert.StartsWith("</bots/msg/v1/messages?", link, StringComparison.Ordinal);
        var next = await browser.GetAsync(new Uri(gateway.Address, link[1..link.IndexOf('>', StringComparison.Ordinal)]), csrf: true);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("GET")]
    [InlineData("/v1/messages")]
    [InlineData("FETCH /v1/messages")]
    [InlineData("GET v1/rooms")]
    [InlineData("GET /v1/rooms/")]
    [InlineData("GET /v1//rooms")]
    [InlineData("GET /v1/../rooms")]
    [InlineData("GET /v1/rooms?max=1")]
    [InlineData("GET /v1/%72ooms")]
    [InlineData("GET /v1/*/messages")]
    [InlineData("GET /v1/rooms*")]
    [InlineData("POST /v1/messages,")]
    [InlineData("POST /v1/messages GET /v1/rooms")]
    public async Task An_invalid_allow_list_fails_at_start_naming_the_key(string allow)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix,
            settings: BotSettings("a-token", isPublic: true, allow: allow), output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("ReverseProxy:Routes:alerts-bot:Metadata:Allow", error.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("User")]
    public async Task An_allow_list_on_a_route_that_is_not_a_bot_route_fails_at_start(string? webexToken)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = BotSettings("a-token", allow: "GET /v1/people/me");
        settings.Remove("ReverseProxy:Routes:alerts-bot:Metadata:WebexToken");
        if (webexToken is not null)
        {
            settings["ReverseProxy:Routes:alerts-bot:Metadata:WebexToken"] = webexToken;
        }

        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, settings: settings, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("ReverseProxy:Routes:alerts-bot:Metadata:Allow: 'Allow' is only for bot routes", error.Message);
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
