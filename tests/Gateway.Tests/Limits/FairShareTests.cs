using System.Globalization;
using System.Net;
using System.Text.Json;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Limits;

/// <summary>
/// One integration's Webex quota shared fairly: a Webex 429 cools down that caller on that resource on every instance,
/// without Webex being called again, and <c>Gateway:RateLimit:PermitsPerMinute</c> holds one person's calls over all
/// instances. Other people and other resources are never affected.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class FairShareTests(RedisFixture redis, ITestOutputHelper output)
{
    /// <summary>Far longer than any test: only the announcement can make the other instance learn of a cool-down.</summary>
    private static readonly Dictionary<string, string?> LongCache = new() { ["Redis:CacheLifetime"] = "00:10:00" };

    [Fact]
    public async Task A_Webex_429_cools_down_that_person_and_resource_on_every_instance_without_calling_Webex()
    {
        await using var world = await TestWorld.StartAsync(redis, output, options => options.AddGeneratedPeople(1));
        var a = world.AddGateway(LongCache);
        var b = world.AddGateway(LongCache);
        var browser = world.NewBrowser();
        await browser.SignInAsync(a.Address);
        var other = world.NewBrowser();
        var otherPerson = world.Webex.People.Single(p => p.Id != world.Person.Id);
        await other.SignInAsync(a.Address, loginHint: otherPerson.Email);
        // B has seen the person's rooms without a cool-down: only the announcement can tell it otherwise.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(b), csrf: true)).StatusCode);

        world.Webex.RateLimit(world.Person.Id, "v1/rooms", "30");
        var fromWebex = await browser.GetAsync(Rooms(a), csrf: true);
        Assert.Equal(HttpStatusCode.TooManyRequests, fromWebex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), fromWebex.Headers.RetryAfter?.Delta);
        using (var webexBody = JsonDocument.Parse(await fromWebex.Content.ReadAsStringAsync()))
        {
            Assert.True(webexBody.RootElement.TryGetProperty("trackingId", out _), "Webex's own 429 passes through as it is");
            Assert.False(webexBody.RootElement.TryGetProperty("source", out _));
        }

        world.Webex.Reset();
        foreach (var gateway in new[] { a, b })
        {
            var cooled = await browser.GetAsync(Rooms(gateway), csrf: true);
            await AssertRateLimitedAsync(cooled, "webex", 1, 30);
            var deeper = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/rooms/" + Uri.EscapeDataString(world.Webex.RoomIds[1])), csrf: true);
            await AssertRateLimitedAsync(deeper, "webex", 1, 30);
        }

        Assert.Empty(world.Webex.Requests);
        // Another resource of the same person, and the same resource for another person, go through.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(b.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(Rooms(b), csrf: true)).StatusCode);
        Assert.Equal(2, world.Webex.Requests.Count);
    }

    [Fact]
    public async Task A_cool_down_whose_announcement_was_lost_is_applied_within_the_cache_lifetime()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Redis:CacheLifetime"] = "00:00:02" });
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(gateway), csrf: true)).StatusCode);

        // What another instance stores when Webex answers it 429, without the announcement this one would have heard.
        var until = DateTimeOffset.UtcNow.AddSeconds(60).ToUnixTimeMilliseconds();
        await redis.Redis.GetDatabase().SortedSetAddAsync($"{world.KeyPrefix}cooldowns:by-expiry", $"{world.Person.Id}:v1/rooms", until);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        HttpResponseMessage response;
        do
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200));
            response = await browser.GetAsync(Rooms(gateway), csrf: true);
        }
        while (response.StatusCode == HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(10));

        output.WriteLine($"applied after {clock.Elapsed.TotalSeconds:F1} s");
        await AssertRateLimitedAsync(response, "webex", 50, 60);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"applied after {clock.Elapsed}, not within Redis:CacheLifetime (2 s)");
        // People who are not cooling down cost no Redis: a call with no cool-down in force is decided in memory.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
    }

    [Fact]
    public async Task After_Retry_After_the_calls_go_through_again()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var a = world.AddGateway(LongCache);
        var b = world.AddGateway(LongCache);
        var browser = world.NewBrowser();
        await browser.SignInAsync(a.Address);

        world.Webex.RateLimit(world.Person.Id, "v1/rooms", "1");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync(Rooms(a), csrf: true)).StatusCode);
        await AssertRateLimitedAsync(await browser.GetAsync(Rooms(b), csrf: true), "webex", 1, 1);
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(a), csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(b), csrf: true)).StatusCode);
    }

    [Theory]
    [InlineData(null, 7)]
    [InlineData("http-date", 20)]
    [InlineData("not a number", 7)]
    [InlineData("999999", 120)]
    public async Task Retry_After_as_an_HTTP_date_absent_or_beyond_the_maximum_sets_the_cool_down(string? retryAfter, int expectedSeconds)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?>
        {
            ["Gateway:RateLimit:DefaultRetryAfter"] = "00:00:07",
            ["Gateway:RateLimit:MaxRetryAfter"] = "00:02:00",
        });

        world.Webex.RateLimit(world.Person.Id, "v1/rooms",
            retryAfter == "http-date" ? DateTimeOffset.UtcNow.AddSeconds(expectedSeconds).ToString("r", CultureInfo.InvariantCulture) : retryAfter);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync(Rooms(gateway), csrf: true)).StatusCode);

        // An HTTP date has whole seconds only: it may end up to a second sooner.
        await AssertRateLimitedAsync(await browser.GetAsync(Rooms(gateway), csrf: true), "webex", expectedSeconds - 2, expectedSeconds);
    }

    [Fact]
    public async Task A_bots_429_cools_down_the_bot_and_not_the_persons_own_calls()
    {
        var (world, botToken, botId) = await Apps.BotRouteTests.WorldWithBotAsync(redis, output);
        await using var _ = world;
        var (gateway, browser) = await world.SignedInAsync(Apps.BotRouteTests.BotSettings(botToken));

        world.Webex.RateLimit(botId, "v1/rooms", "30");
        var bot = new Uri(gateway.Address, "/bots/alerts/v1/rooms");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync(bot, csrf: true)).StatusCode);
        world.Webex.Reset();

        await AssertRateLimitedAsync(await browser.GetAsync(bot, csrf: true), "webex", 1, 30);
        Assert.Empty(world.Webex.Requests);
        // The person's own calls to the same resource spend the person's quota at Webex, not the bot's.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(gateway), csrf: true)).StatusCode);
    }

    [Fact]
    public async Task The_per_person_limit_holds_across_instances_and_leaves_other_people_alone()
    {
        await using var world = await TestWorld.StartAsync(redis, output, options => options.AddGeneratedPeople(1));
        var limit = new Dictionary<string, string?> { ["Gateway:RateLimit:PermitsPerMinute"] = "5" };
        var a = world.AddGateway(limit);
        var b = world.AddGateway(limit);
        var browser = world.NewBrowser();
        await browser.SignInAsync(a.Address);
        var other = world.NewBrowser();
        await other.SignInAsync(a.Address, loginHint: world.Webex.People.Single(p => p.Id != world.Person.Id).Email);
        world.Webex.Reset();

        for (var i = 0; i < 5; i++)
        {
            var response = await browser.GetAsync(new Uri((i % 2 == 0 ? a : b).Address, "/webex/v1/people/me"), csrf: true);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await AssertRateLimitedAsync(await browser.GetAsync(Rooms(b), csrf: true), "gateway", 1, 60);
        await AssertRateLimitedAsync(await browser.GetAsync(Rooms(a), csrf: true), "gateway", 1, 60);
        Assert.Equal(5, world.Webex.Requests.Count);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(Rooms(a), csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(Rooms(b), csrf: true)).StatusCode);
    }

    [Fact]
    public async Task With_the_limit_off_a_person_is_not_counted()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Gateway:RateLimit:PermitsPerMinute"] = "0" });

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(gateway), csrf: true)).StatusCode);
        }
    }

    /// <summary>
    /// The limit's cost on the hot path: permits are leased from Redis in batches (a fiftieth of the limit, at most 100),
    /// so at the default of 600 a minute, 200 calls send a dozen or so scripts to Redis and nothing else.
    /// </summary>
    [Fact]
    public async Task At_the_default_limit_200_calls_cost_one_Redis_script_per_batch_of_permits()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(redis: relay.ConnectionString);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(gateway), csrf: true)).StatusCode);

        var windowOpens = relay.Commands.Count;
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(gateway), csrf: true)).StatusCode);
        }

        var fromRequests = relay.Commands.Skip(windowOpens)
            .Where(c => c.Name.ToUpperInvariant() is not ("PING" or "ECHO" or "INFO" or "CLUSTER" or "CLIENT" or "SUBSCRIBE" or "UNSUBSCRIBE")
                && !c.Arguments.Any(a => a.StartsWith("__Booksleeve", StringComparison.Ordinal)))
            .ToList();
        Assert.All(fromRequests, c => Assert.StartsWith("EVAL", c.Name.ToUpperInvariant()));
        Assert.InRange(fromRequests.Count, 200 / 12, (200 / 12) + 2);
    }

    /// <summary>A runaway client, once refused, is refused without asking Redis until the window ends.</summary>
    [Fact]
    public async Task Once_over_the_limit_further_calls_are_refused_without_a_Redis_command()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Gateway:RateLimit:PermitsPerMinute"] = "3" }, redis: relay.ConnectionString);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Rooms(gateway), csrf: true)).StatusCode);
        }

        await AssertRateLimitedAsync(await browser.GetAsync(Rooms(gateway), csrf: true), "gateway", 1, 60);
        var windowOpens = relay.Commands.Count;
        for (var i = 0; i < 50; i++)
        {
            await AssertRateLimitedAsync(await browser.GetAsync(Rooms(gateway), csrf: true), "gateway", 1, 60);
        }

        Assert.DoesNotContain(relay.Commands.Skip(windowOpens), c => c.Name.StartsWith("EVAL", StringComparison.OrdinalIgnoreCase));
    }

    private static Uri Rooms(GatewayHost gateway) => new(gateway.Address, "/webex/v1/rooms");

    private static async Task AssertRateLimitedAsync(HttpResponseMessage response, string source, int atLeast, int atMost)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.TooManyRequests, $"{response.StatusCode}: {body}");
        var retryAfter = (int)response.Headers.RetryAfter!.Delta!.Value.TotalSeconds;
        Assert.InRange(retryAfter, atLeast, atMost);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("rate_limited", json.RootElement.GetProperty("error").GetString());
        Assert.Equal(source, json.RootElement.GetProperty("source").GetString());
        Assert.Equal(retryAfter, json.RootElement.GetProperty("retryAfter").GetInt32());
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
    }
}
