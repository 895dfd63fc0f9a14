using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WebexGateway.Auth;
using WebexGateway.Grants;
using WebexGateway.Storage;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;
using ZiggyCreatures.Caching.Fusion;

namespace WebexGateway.Tests.Storage;

/// <summary>
/// Sessions and grants cached in each instance, decoded, with invalidation over Redis pub/sub (<c>Redis:CacheLifetime</c>):
/// the request path costs no Redis command, yet what one instance changes (logout, refresh, a revoked grant) is what
/// every other instance serves next, and a lost message is stale for at most <c>Redis:CacheLifetime</c>, or until the
/// instance's subscription is restored.
/// </summary>
/// <remarks>
/// The cross-instance tests give every gateway a <c>Redis:CacheLifetime</c> of ten minutes, so that within a test only
/// the invalidation can explain another instance seeing a change. Where a test needs to see or disturb one gateway's
/// Redis traffic alone, that gateway reaches Redis through a <see cref="RedisRelay"/>.
/// </remarks>
[Collection(GatewayCollection.Name)]
public sealed class CacheCoherenceTests(RedisFixture redis, ITestOutputHelper output)
{
    private const string SessionCookie = AuthExtensions.SessionCookieName;

    /// <summary>Far longer than any test: only an invalidation can make an instance drop what it cached.</summary>
    private static readonly Dictionary<string, string?> LongCache = new() { ["Redis:CacheLifetime"] = "00:10:00" };

    /// <summary>
    /// What the connection multiplexer sends by itself to set up, watch and keep its connections (handshake, heartbeat,
    /// topology, subscriptions): not a request's doing.
    /// </summary>
    private static readonly HashSet<string> ConnectionHousekeeping = new(StringComparer.OrdinalIgnoreCase)
    {
        "HELLO", "AUTH", "CLIENT", "SELECT", "PING", "ECHO", "INFO", "CONFIG", "CLUSTER", "SENTINEL", "ROLE", "COMMAND",
        "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "QUIT",
    };

    /// <summary>
    /// Counted at a relay in front of the gateway rather than on the server: the embedded Garnet the tests use without
    /// GATEWAY_TEST_REDIS answers MONITOR with "unknown command" and fills <c>INFO commandstats</c> only when started with
    /// <c>--commandstats-monitor</c>, and on redis-server both see every client of the shared server. The relay sees this
    /// gateway's connections and nothing else, the same way on redis-server and on Garnet. The window opens after
    /// start-up, sign-in and one warm-up call, so the keep-alive's first run and the key ring's first read are outside it;
    /// what the multiplexer sends by itself (heartbeats, reconnects) is not counted.
    /// </summary>
    [Fact]
    public async Task Once_an_instance_has_seen_a_session_200_requests_with_a_valid_token_cost_no_Redis_command()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await SignedInThroughAsync(relay, world);

        // The relay does see this gateway's work with Redis: the sign-in wrote the session and the grant through it.
        Assert.Contains(relay.Commands, c => c.Arguments.Any(a => a.StartsWith($"{world.KeyPrefix}session:", StringComparison.Ordinal)));
        Assert.Contains(relay.Commands, c => c.Arguments.Any(a => a.StartsWith($"{world.KeyPrefix}grant:", StringComparison.Ordinal)));

        var windowOpens = relay.Commands.Count;
        world.Webex.Reset();
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        }

        var inWindow = relay.Commands.Skip(windowOpens).ToList();
        var fromRequests = inWindow.Where(c => !IsConnectionHousekeeping(c)).ToList();

        Assert.Equal(200, world.Webex.Requests.Count);
        Assert.Equal(0, world.Webex.TokenCalls);
        Assert.True(fromRequests.Count == 0,
            $"200 requests sent {fromRequests.Count} Redis commands (expected none), e.g.:\n{string.Join("\n", fromRequests.Take(12))}");
    }

    /// <remarks>
    /// The whole cache is marked stale when this instance may have missed announcements (<see cref="SubscriptionWatch"/>),
    /// which is what it alone knows: the other instances must not be told. FusionCache's Clear would tell them, one
    /// PUBLISH per entry at its next look-up, made synchronously in the request that looked it up, when Redis is perhaps
    /// not answering (that is often why the pulses were not heard).
    /// </remarks>
    [Fact]
    public async Task Marking_the_whole_cache_stale_reads_each_record_again_and_publishes_nothing()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await SignedInThroughAsync(relay, world);

        var windowOpens = relay.Commands.Count;
        gateway.Services.GetRequiredService<RecordCache>().MarkAllStale(heardAgain: false);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        }

        var fromRequests = relay.Commands.Skip(windowOpens).Where(c => !IsConnectionHousekeeping(c)).ToList();
        output.WriteLine(string.Join("\n", fromRequests));
        bool Read(string kind) => fromRequests.Any(c => c.Name.Equals("GET", StringComparison.OrdinalIgnoreCase)
            && c.Arguments.Any(a => a.StartsWith($"{world.KeyPrefix}{kind}:", StringComparison.Ordinal)));
        Assert.True(Read("session"), "the session was not read again");
        Assert.True(Read("grant"), "the grant was not read again");
        Assert.DoesNotContain(fromRequests, c => c.Name.Equals("PUBLISH", StringComparison.OrdinalIgnoreCase));
    }

    /// <remarks>
    /// Counted with FusionCache's own events: every look-up of its memory level is a hit or a miss. A cookie's first call
    /// goes through the cookie handler and its second reads the session and the grant from the cache; from then on the
    /// grant is answered from what the cookie remembers (<see cref="SignedInGrants"/>), and the cache is not asked again
    /// until the session or the grant changes.
    /// </remarks>
    [Fact]
    public async Task Once_a_cookie_has_found_its_grant_its_next_200_calls_look_nothing_up_in_the_cache()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(LongCache);
        await WaitUntilHearingAsync(gateway);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        for (var call = 0; call < 2; call++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        }

        var lookUps = 0;
        var fusion = gateway.Services.GetRequiredService<IFusionCache>();
        fusion.Events.Memory.Hit += (_, _) => Interlocked.Increment(ref lookUps);
        fusion.Events.Memory.Miss += (_, _) => Interlocked.Increment(ref lookUps);
        world.Webex.Reset();
        for (var call = 0; call < 200; call++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        }

        Assert.Equal(0, Volatile.Read(ref lookUps));
        var token = world.Webex.LastAccessTokenFor(world.Person.Id);
        Assert.Equal(Enumerable.Repeat($"Bearer {token}", 200), world.Webex.Requests.Select(r => r.Headers["Authorization"]));

        // The same cookie after a logout elsewhere in the gateway: the session's change ends what the cookie remembered.
        using var tab = SameCookie(browser, gateway);
        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tab.GetAsync(Api(gateway), csrf: true)).StatusCode);
    }

    /// <remarks>
    /// A stamp is what lets a caller hold on to a record without asking the cache: it must stop holding as soon as the
    /// record changes here (a write, a delete, a reading kept), when another instance announces a change, when the whole
    /// cache is marked stale, and at the record's time to be read again.
    /// </remarks>
    [Fact]
    public async Task A_records_stamp_holds_until_the_record_changes_here_or_elsewhere_or_is_due_to_be_read_again()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var a = world.AddGateway(LongCache);
        var b = world.AddGateway(LongCache);
        await WaitUntilHearingAsync(a, b);
        var cache = a.Services.GetRequiredService<RecordCache>();
        var elsewhere = b.Services.GetRequiredService<RecordCache>();
        var time = a.Services.GetRequiredService<TimeProvider>();
        var records = new ChangingRecords { Stored = "first" };
        var key = $"{world.KeyPrefix}test:stamped";
        static byte[] Bytes(string value) => System.Text.Encoding.UTF8.GetBytes(value);

        async Task<RecordStamp> ServedAsync(string? expected)
        {
            var served = await cache.GetOrReadStampedAsync(key, "stamped", records);
            if (!served.Stamp.Holds(time.GetTimestamp()))
            {
                // Read first: a stamp that holds for nothing. The next call finds it cached.
                served = await cache.GetOrReadStampedAsync(key, "stamped", records);
            }

            Assert.Equal(expected, served.Value);
            Assert.True(served.Stamp.Holds(time.GetTimestamp()), $"a stamp of the record cached as '{expected}' does not hold");
            return served.Stamp;
        }

        var read = await cache.GetOrReadStampedAsync(key, "stamped", records);
        Assert.Equal("first", read.Value);
        Assert.False(read.Stamp.Holds(time.GetTimestamp()), "a record that had to be read came with a stamp that holds");

        var stamp = await ServedAsync("first");
        Assert.True((await ServedAsync("first")).Holds(time.GetTimestamp()));
        Assert.True(stamp.Holds(time.GetTimestamp()), "another look-up ended the stamp");
        var readAgainIn = TimeSpan.FromSeconds((stamp.ValidBefore - time.GetTimestamp()) / (double)time.TimestampFrequency);
        Assert.InRange(readAgainIn, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(7)); // half to seven tenths of ten minutes
        Assert.False(stamp.Holds(stamp.ValidBefore));

        await cache.WrittenAsync(key, (object)"second", Bytes("second"));
        Assert.False(stamp.Holds(time.GetTimestamp()), "a write here");
        stamp = await ServedAsync("second");

        await cache.KeepAsync(key, (object)"kept", Bytes("kept"));
        Assert.False(stamp.Holds(time.GetTimestamp()), "a reading kept here");
        stamp = await ServedAsync("kept");

        await cache.DeletedAsync(key);
        Assert.False(stamp.Holds(time.GetTimestamp()), "a delete here");
        records.Stored = "third";
        stamp = await ServedAsync("third");

        records.Stored = "fourth";
        await elsewhere.WrittenAsync(key, (object)"fourth", Bytes("fourth"));
        await WaitForAsync(() => !stamp.Holds(time.GetTimestamp()), TimeSpan.FromSeconds(1), "another instance's write ended the stamp");
        stamp = await ServedAsync("fourth");

        records.Stored = null;
        await elsewhere.DeletedAsync(key);
        await WaitForAsync(() => !stamp.Holds(time.GetTimestamp()), TimeSpan.FromSeconds(1), "another instance's delete ended the stamp");
        stamp = await ServedAsync(null);

        cache.MarkAllStale(heardAgain: true);
        Assert.False(stamp.Holds(time.GetTimestamp()), "the whole cache marked stale");
    }

    [Fact]
    public async Task A_logout_on_one_instance_is_401_on_another_that_cached_the_session_within_one_second()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (a, b, browser) = await SignedInOnAOfTwoAsync(world);
        // The same cookie, kept where A's logout cannot delete it: the other tab, or whoever copied it.
        using var tab = SameCookie(browser, a);
        Assert.Equal(HttpStatusCode.OK, (await tab.GetAsync(Api(a), csrf: true)).StatusCode);
        await RememberedOnAsync(tab, b);

        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(HttpMethod.Post, new Uri(a.Address, "/auth/logout"))).StatusCode);
        var loggedOut = Stopwatch.StartNew();

        await AssertLoginRequiredWithinAsync(tab, b, loggedOut, TimeSpan.FromSeconds(1));
    }

    /// <remarks>
    /// FusionCache subscribes to its channel once, at start, and stops trying after three failures; SubscriptionWatch's
    /// pulses travel a subscription of their own. An instance started while Redis was down must still hear the others
    /// once Redis is back, not only its own pulses.
    /// </remarks>
    [Fact]
    public async Task An_instance_started_while_redis_was_down_hears_a_logout_elsewhere_once_redis_is_back()
    {
        var directory = TempDirectory.Create("late");
        var store = new EmbeddedRedisServer(directory);
        var port = store.Port;
        var connection = store.ConnectionString;
        store.Dispose();
        await using var world = await TestWorld.StartAsync(redis, output);
        try
        {
            // Pulses every second, so that both hear theirs soon after Redis is back; what they hear lives ten minutes.
            var lifetimes = Lifetimes("00:00:02", whileSubscribed: "00:10:00");
            var late = world.AddGateway(lifetimes, redis: connection);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await world.NewBrowser().GetAsync(new Uri(late.Address, "/readyz"))).StatusCode);
            // Long enough for FusionCache's three attempts to subscribe, a quarter of a second apart, to have failed.
            await Task.Delay(TimeSpan.FromSeconds(3));

            store = new EmbeddedRedisServer(directory, port);
            var other = world.AddGateway(lifetimes, redis: connection);
            await WaitUntilHearingAsync(late, other);
            var browser = world.NewBrowser();
            await browser.SignInAsync(other.Address);
            using var tab = SameCookie(browser, other);
            await RememberedOnAsync(tab, late);

            Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(HttpMethod.Post, new Uri(other.Address, "/auth/logout"))).StatusCode);
            var loggedOut = Stopwatch.StartNew();

            await AssertLoginRequiredWithinAsync(tab, late, loggedOut, TimeSpan.FromSeconds(1));
        }
        finally
        {
            store.Dispose();
        }
    }

    [Fact]
    public async Task After_one_instance_refreshes_another_sends_the_new_token_at_once_and_refreshes_nothing()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (a, b, browser) = await SignedInOnAOfTwoAsync(world);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(a), csrf: true)).StatusCode);
        await RememberedOnAsync(browser, b);
        var oldToken = world.Webex.LastAccessTokenFor(world.Person.Id)!;
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();

        // A: 401 with the old token, one refresh, the replay with the new one.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(a), csrf: true)).StatusCode);
        var newToken = world.Webex.LastAccessTokenFor(world.Person.Id)!;
        Assert.NotEqual(oldToken, newToken);
        Assert.Equal(1, world.Webex.RefreshCalls);
        var refreshedAt = world.Webex.Requests.Count;

        // B, right after A's response: straight to Webex with the new token.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(b), csrf: true)).StatusCode);

        var fromB = world.Webex.Requests.Skip(refreshedAt).Select(r => r.Headers["Authorization"]).ToList();
        Assert.True(fromB.All(h => h != $"Bearer {oldToken}"), $"B sent the token A had replaced ({fromB.Count} request(s) to Webex)");
        Assert.Equal(new[] { $"Bearer {newToken}" }, fromB);
        Assert.Equal(1, world.Webex.RefreshCalls);
        Assert.Equal(1, world.Webex.TokenCalls);
    }

    /// <remarks>
    /// A refreshes ahead of expiry on every request (<c>Webex:RefreshBeforeExpiry</c> longer than a token lives), so A's
    /// refresh meets <c>invalid_grant</c> while the access token B cached is still good at Webex: had B kept its copy of the
    /// grant, Webex would answer it 200.
    /// </remarks>
    [Fact]
    public async Task A_grant_one_instance_deletes_after_invalid_grant_is_401_on_another_within_one_second()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var a = world.AddGateway(new Dictionary<string, string?>(LongCache) { ["Webex:RefreshBeforeExpiry"] = "30.00:00:00" });
        var b = world.AddGateway(LongCache);
        var browser = world.NewBrowser();
        await browser.SignInAsync(b.Address);
        using var tab = SameCookie(browser, b);
        await RememberedOnAsync(tab, b);
        world.Webex.RevokeRefreshTokens();

        var onA = await browser.GetAsync(Api(a), csrf: true);
        var deleted = Stopwatch.StartNew();

        Assert.Equal(HttpStatusCode.Unauthorized, onA.StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
        Assert.DoesNotContain((await world.Redis.DumpAsync(world.KeyPrefix)).Keys, k => k.StartsWith($"{world.KeyPrefix}grant:", StringComparison.Ordinal));
        Assert.Contains((await world.Redis.DumpAsync(world.KeyPrefix)).Keys, k => k.StartsWith($"{world.KeyPrefix}session:", StringComparison.Ordinal));
        await AssertLoginRequiredWithinAsync(tab, b, deleted, TimeSpan.FromSeconds(1));
    }

    /// <remarks>
    /// What this proves: B's subscription carries the logout's invalidation message, the relay in front of B withholds it
    /// (and records it, so it is known to have been published and lost), then drops B's subscribed connection. B's cache
    /// lifetime is ten minutes, so B answering 401 within seconds can only be B dropping its cache when its subscription
    /// was restored. (<c>CLIENT KILL TYPE pubsub</c> on the server does drop the subscription, on redis-server and Garnet
    /// alike, but it races the publish: the message may arrive before the kill, or after the resubscription, which takes
    /// some 30 ms; and it drops every other subscriber on the shared server too.)
    /// </remarks>
    [Fact]
    public async Task A_logout_whose_message_another_instance_lost_is_401_there_once_its_subscription_is_restored()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var (a, b, browser) = await SignedInOnAOfTwoAsync(world, bRedis: relay.ConnectionString);
        using var tab = SameCookie(browser, a);
        await RememberedOnAsync(tab, b);
        var subscription = await SubscriptionUnderPrefixAsync(relay, world.KeyPrefix);

        relay.LoseMessagesOnSubscribedLinks();
        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(HttpMethod.Post, new Uri(a.Address, "/auth/logout"))).StatusCode);
        await WaitForAsync(() => relay.LostMessages.Any(m => m.Channel.Contains(world.KeyPrefix, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), "the logout's invalidation message reached B's subscription (and was withheld)");
        await Task.Delay(300); // whatever else the logout publishes is withheld too
        Assert.True(relay.CloseSubscribedLinks() > 0);
        var dropped = Stopwatch.StartNew();

        await AssertLoginRequiredWithinAsync(tab, b, dropped, TimeSpan.FromSeconds(5));
        await WaitForAsync(() => relay.SubscribedLinks.Any(l => l.Link > subscription && l.Channels.Any(c => c.Contains(world.KeyPrefix, StringComparison.Ordinal))),
            TimeSpan.FromSeconds(5), "B subscribed again");
    }

    /// <remarks>
    /// B's subscription stays connected but every message on it is lost, so nothing tells B about the logout and no
    /// reconnection makes it drop its cache: <c>Redis:CacheLifetime</c> (2 s here) is the only bound on how long B serves it.
    /// </remarks>
    [Fact]
    public async Task With_every_message_lost_an_instance_serves_a_logged_out_session_for_at_most_the_cache_lifetime()
    {
        var shortCache = new Dictionary<string, string?> { ["Redis:CacheLifetime"] = "00:00:02" };
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var a = world.AddGateway(shortCache);
        var b = world.AddGateway(shortCache, redis: relay.ConnectionString);
        var browser = world.NewBrowser();
        await browser.SignInAsync(a.Address);
        using var tab = SameCookie(browser, a);
        Assert.Equal(HttpStatusCode.OK, (await tab.GetAsync(Api(b), csrf: true)).StatusCode);
        var subscription = await SubscriptionUnderPrefixAsync(relay, world.KeyPrefix);
        var linksBefore = relay.LinksOpened;

        relay.LoseMessagesOnSubscribedLinks();
        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(HttpMethod.Post, new Uri(a.Address, "/auth/logout"))).StatusCode);
        var loggedOut = Stopwatch.StartNew();
        await WaitForAsync(() => relay.LostMessages.Any(m => m.Channel.Contains(world.KeyPrefix, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), "the logout's invalidation message reached B's subscription (and was withheld)");

        await AssertLoginRequiredWithinAsync(tab, b, loggedOut, TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(1.5));
        // The same subscription all along: no reconnection, so no restored-subscription flush, explains the 401.
        Assert.Equal(linksBefore, relay.LinksOpened);
        Assert.Contains(relay.SubscribedLinks, l => l.Link == subscription);
    }

    /// <remarks>
    /// A refreshes ahead of expiry (<c>Webex:RefreshBeforeExpiry</c> longer than a token lives) while B's subscription loses
    /// every message: B learns of the new grant only by reading it again when its <c>Redis:CacheLifetime</c> (2 s here) ends,
    /// and must then decode the changed bytes rather than keep the grant it had. The old token stays good at Webex, so no
    /// 401 and no refresh of B's own can explain B sending the new one.
    /// </remarks>
    [Fact]
    public async Task A_refresh_whose_message_another_instance_lost_is_what_it_sends_once_its_cache_lifetime_ends()
    {
        var shortCache = new Dictionary<string, string?> { ["Redis:CacheLifetime"] = "00:00:02" };
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var a = world.AddGateway(new Dictionary<string, string?>(shortCache) { ["Webex:RefreshBeforeExpiry"] = "30.00:00:00" });
        var b = world.AddGateway(shortCache, redis: relay.ConnectionString);
        var browser = world.NewBrowser();
        await browser.SignInAsync(a.Address);
        using var tab = SameCookie(browser, a);
        Assert.Equal(HttpStatusCode.OK, (await tab.GetAsync(Api(b), csrf: true)).StatusCode);
        var oldToken = world.Webex.LastAccessTokenFor(world.Person.Id)!;
        await SubscriptionUnderPrefixAsync(relay, world.KeyPrefix);

        relay.LoseMessagesOnSubscribedLinks();
        world.Webex.Reset();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(a), csrf: true)).StatusCode);
        var newToken = world.Webex.LastAccessTokenFor(world.Person.Id)!;
        Assert.NotEqual(oldToken, newToken);
        var refreshed = Stopwatch.StartNew();
        await WaitForAsync(() => relay.LostMessages.Any(m => m.Channel.Contains(world.KeyPrefix, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), "the refresh's invalidation message reached B's subscription (and was withheld)");

        var sentByB = new List<string>();
        while (true)
        {
            var before = world.Webex.Requests.Count;
            Assert.Equal(HttpStatusCode.OK, (await tab.GetAsync(Api(b), csrf: true)).StatusCode);
            var sent = world.Webex.Requests.Skip(before).Select(r => r.Headers["Authorization"]).Single();
            sentByB.Add(sent == $"Bearer {newToken}" ? "new" : sent == $"Bearer {oldToken}" ? "old" : "other");
            if (sentByB[^1] == "new")
            {
                break;
            }

            Assert.True(sentByB[^1] == "old" && refreshed.Elapsed < TimeSpan.FromSeconds(2 + 1.5),
                $"B after {refreshed.Elapsed.TotalMilliseconds:0} ms still not on the new token: {string.Join(", ", sentByB)}");
            await Task.Delay(50);
        }

        // A's refresh alone: B never refreshed.
        Assert.Equal(1, world.Webex.RefreshCalls);
    }

    /// <remarks>
    /// Every <c>Redis:CacheLifetimeWhileSubscribed</c> (1 s here) the instance reads the grant again. The bytes are those it
    /// wrote at sign-in, and then those it read last time, so it keeps the very object it had rather than decrypting and
    /// deserializing a copy of it, the first time too.
    /// </remarks>
    [Fact]
    public async Task A_record_read_again_unchanged_when_its_cache_lifetime_ends_is_not_decoded_again()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Lifetimes("00:00:01"), redis: relay.ConnectionString);
        await WaitUntilHearingAsync(gateway);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        var grants = gateway.Services.GetRequiredService<GrantStore>();
        var grantKey = $"{world.KeyPrefix}grant:{world.Person.Id}";

        var seen = new List<Grant> { (await grants.GetAsync(world.Person.Id))! };
        for (var lifetime = 0; lifetime < 3; lifetime++)
        {
            var windowOpens = relay.Commands.Count;
            await Task.Delay(TimeSpan.FromSeconds(1.2));
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
            await WaitForAsync(() => relay.Commands.Skip(windowOpens).Any(c => c.Name.Equals("GET", StringComparison.OrdinalIgnoreCase) && c.Arguments.Contains(grantKey)),
                TimeSpan.FromSeconds(5), "the gateway read the grant again once its cache lifetime had ended");
            seen.Add((await grants.GetAsync(world.Person.Id))!);
        }

        Assert.Same(seen[0], seen[1]);
        Assert.Same(seen[1], seen[2]);
        Assert.Same(seen[2], seen[3]);
    }

    /// <remarks>
    /// While the instance hears its pulses, a record it cached is not read again when <c>Redis:CacheLifetime</c> (1 s here)
    /// ends, but within <c>Redis:CacheLifetimeWhileSubscribed</c> (4 s here; from half of it, in the background while the
    /// record is in use): then it sees what changed in Redis without an announcement, as when anything but a gateway
    /// writes the key.
    /// </remarks>
    [Fact]
    public async Task While_an_instance_hears_its_subscription_a_record_is_read_again_after_the_subscribed_lifetime_not_the_cache_lifetime()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Lifetimes("00:00:01", whileSubscribed: "00:00:04"), redis: relay.ConnectionString);
        await WaitUntilHearingAsync(gateway);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        var grantKey = $"{world.KeyPrefix}grant:{world.Person.Id}";
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        var cached = Stopwatch.StartNew();
        var windowOpens = relay.Commands.Count;
        bool GrantRead() => relay.Commands.Skip(windowOpens).Any(c => c.Name.Equals("GET", StringComparison.OrdinalIgnoreCase) && c.Arguments.Contains(grantKey));

        while (cached.Elapsed < TimeSpan.FromSeconds(1.9))
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
            Assert.False(GrantRead(), $"the grant was read again after {cached.Elapsed.TotalMilliseconds:0} ms, with the subscription heard");
            await Task.Delay(100);
        }

        Assert.True(gateway.Services.GetRequiredService<SubscriptionWatch>().Hearing);
        while (!GrantRead())
        {
            Assert.True(cached.Elapsed < TimeSpan.FromSeconds(4 + 1.5), $"the grant was not read again within {cached.Elapsed.TotalMilliseconds:0} ms");
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
            await Task.Delay(100);
        }

        Assert.InRange(cached.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(4 + 1.5));
    }

    /// <remarks>
    /// Forty records read in the same moment, as at start-up, read in a loop until each has been read again from the store:
    /// between half and seven tenths of <c>Redis:CacheLifetimeWhileSubscribed</c> (2 s here), and not all in the same
    /// instant, which is what would happen, lifetime after lifetime, without the jitter.
    /// </remarks>
    [Fact]
    public async Task Records_read_together_are_read_again_at_different_times_within_the_cache_lifetime()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Lifetimes("00:00:02"));
        await WaitUntilHearingAsync(gateway);
        var cache = gateway.Services.GetRequiredService<RecordCache>();
        var records = new ClockedRecords();
        var ids = Enumerable.Range(0, 40).Select(i => $"jitter-{i}").ToList();

        foreach (var id in ids)
        {
            await cache.GetOrReadAsync($"{world.KeyPrefix}test:{id}", id, records);
        }

        var clock = Stopwatch.StartNew();
        while (ids.Any(id => records.Fetches(id).Count < 2) && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            foreach (var id in ids)
            {
                await cache.GetOrReadAsync($"{world.KeyPrefix}test:{id}", id, records);
            }

            await Task.Delay(20);
        }

        var ages = ids.Select(id => records.Fetches(id) is [var first, var second, ..] ? second - first : TimeSpan.MaxValue).ToList();
        output.WriteLine($"read again after {string.Join(", ", ages.Order().Select(a => $"{a.TotalMilliseconds:F0} ms"))}");
        Assert.All(ages, age => Assert.InRange(age, TimeSpan.FromSeconds(0.95), TimeSpan.FromSeconds(1.6)));
        Assert.True(ages.Max() - ages.Min() > TimeSpan.FromSeconds(0.2), "the records were all read again in the same instant");
    }

    /// <remarks>
    /// A record past its time to be read again (half to seven tenths of <c>Redis:CacheLifetimeWhileSubscribed</c>, 2 s here)
    /// is served at once, from memory, while one reading runs in the background, even when that reading takes long: no call
    /// waits on Redis for a record that has most likely not changed, and a burst of calls makes one reading, not one each.
    /// </remarks>
    [Fact]
    public async Task A_record_due_to_be_read_again_is_served_at_once_while_one_reading_runs_in_the_background()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Lifetimes("00:00:02"));
        await WaitUntilHearingAsync(gateway);
        var cache = gateway.Services.GetRequiredService<RecordCache>();
        var records = new ClockedRecords();
        var key = $"{world.KeyPrefix}test:slow";
        Assert.Equal("slow", await cache.GetOrReadAsync(key, "slow", records));
        records.FetchDelay = TimeSpan.FromSeconds(0.5);

        var clock = Stopwatch.StartNew();
        while (records.Fetches("slow").Count < 2)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), "not read again within the lifetime");
            for (var call = 0; call < 20; call++)
            {
                var answer = cache.GetOrReadAsync(key, "slow", records);
                Assert.True(answer.IsCompletedSuccessfully, $"a call waited on the reading after {clock.Elapsed.TotalMilliseconds:0} ms");
                Assert.Equal("slow", await answer);
            }

            await Task.Delay(10);
        }

        await Task.Delay(TimeSpan.FromSeconds(0.7));
        Assert.Equal(2, records.Fetches("slow").Count);
    }

    /// <remarks>
    /// A record read again and found unchanged stays in its FusionCache entry, and its time to be read again moves on in
    /// place: a stamp taken before goes on holding once the reading is done, with nothing set in the cache. Replacing
    /// every record each time it is read again is what made the garbage collector's work grow with the number of sessions.
    /// Changed in the store, it is replaced, and the stamp ends.
    /// </remarks>
    [Fact]
    public async Task A_record_read_again_unchanged_stays_in_its_entry_and_its_stamp_holds_again_until_it_changes()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Lifetimes("00:00:02"));
        await WaitUntilHearingAsync(gateway);
        var cache = gateway.Services.GetRequiredService<RecordCache>();
        var time = gateway.Services.GetRequiredService<TimeProvider>();
        var records = new ChangingRecords { Stored = "same" };
        var key = $"{world.KeyPrefix}test:unchanged";
        await cache.GetOrReadAsync(key, "unchanged", records);
        var stamp = (await cache.GetOrReadStampedAsync(key, "unchanged", records)).Stamp;
        Assert.True(stamp.Holds(time.GetTimestamp()));
        var sets = SetsOf(gateway, key);

        async Task ServeUntilFetchedAsync(int fetches, string expected)
        {
            var clock = Stopwatch.StartNew();
            while (records.Fetches < fetches)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"not read again within {clock.Elapsed.TotalSeconds:F1} s");
                Assert.Equal(expected, await cache.GetOrReadAsync(key, "unchanged", records));
                await Task.Delay(20);
            }
        }

        // Read again twice, each time between half and seven tenths of the 2 s lifetime after the last reading.
        await ServeUntilFetchedAsync(2, "same");
        await WaitForAsync(() => stamp.Holds(time.GetTimestamp()), TimeSpan.FromSeconds(1), "the stamp holds again after the first reading");
        await ServeUntilFetchedAsync(3, "same");
        await WaitForAsync(() => stamp.Holds(time.GetTimestamp()), TimeSpan.FromSeconds(1), "the stamp holds again after the second reading");
        Assert.Equal(0, sets());

        records.Stored = "changed";
        await ServeUntilFetchedAsync(4, "same");
        await WaitForAsync(async () => (string?)await cache.GetOrReadAsync(key, "unchanged", records) == "changed", TimeSpan.FromSeconds(1),
            "the changed record is served once read");
        Assert.False(stamp.Holds(time.GetTimestamp()), "the stamp of the record as it was still holds");
        Assert.Equal(1, sets());
    }

    /// <remarks>
    /// A record read again unchanged stays in its FusionCache entry for three lifetimes (2 s here) more than the longer of
    /// its lifetime and <c>Redis:MemoryFallback</c>; read again unchanged once less than that longer one is left of the
    /// entry, it is set in a new entry as the same record, and what holds on to it goes on holding. With a lifetime of
    /// 1 s, a background reading slowed by other tests past the record's end (a quarter to half a second after its start)
    /// made the record read before it was served, set in a new entry too early.
    /// </remarks>
    [Fact]
    public async Task A_record_read_again_unchanged_when_its_entry_nears_its_end_is_set_in_a_new_one_as_the_same_record()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Lifetimes("00:00:02"));
        await WaitUntilHearingAsync(gateway);
        var cache = gateway.Services.GetRequiredService<RecordCache>();
        var time = gateway.Services.GetRequiredService<TimeProvider>();
        var records = new ChangingRecords { Stored = "same" };
        var key = $"{world.KeyPrefix}test:renewed";
        var first = await cache.GetOrReadAsync(key, "renewed", records);
        var stamp = (await cache.GetOrReadStampedAsync(key, "renewed", records)).Stamp;
        var sets = SetsOf(gateway, key);

        var clock = Stopwatch.StartNew();
        while (sets() == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(14), $"not set in a new entry within {clock.Elapsed.TotalSeconds:F1} s ({records.Fetches} readings)");
            Assert.Same(first, await cache.GetOrReadAsync(key, "renewed", records));
            await Task.Delay(20);
        }

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(14));
        await WaitForAsync(() => stamp.Holds(time.GetTimestamp()), TimeSpan.FromSeconds(1.5), "the stamp holds again once the record is in its new entry");
        Assert.Same(first, await cache.GetOrReadAsync(key, "renewed", records));
        Assert.Equal(1, sets());
    }

    /// <remarks>
    /// The grant a cookie's calls carry is found again when the session or the grant it rests on falls due to be read
    /// again. Found unchanged, the cookie keeps the finding it had (<see cref="VerifiedGrant"/>): with many sessions, a new
    /// one on every long-lived cookie at each reading was garbage the collector had to carry into its older generations, and
    /// the calls' p99 felt it. Changed, the cookie gets a new one.
    /// </remarks>
    [Fact]
    public async Task A_cookie_keeps_the_grant_it_found_while_the_records_it_rests_on_are_read_again_unchanged()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Lifetimes("00:00:02"), redis: relay.ConnectionString);
        await WaitUntilHearingAsync(gateway);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        await RememberedOnAsync(browser, gateway);
        var cookies = gateway.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(AuthExtensions.CookieScheme);
        var remembered = Assert.IsType<RememberedCookies>(cookies.TicketDataFormat).Of(browser.SessionCookie(gateway.Address));
        var found = remembered?.Grant;
        Assert.NotNull(found);
        var grantKey = $"{world.KeyPrefix}grant:{world.Person.Id}";
        int GrantReadings() => relay.Commands.Count(c => c.Name.Equals("GET", StringComparison.OrdinalIgnoreCase) && c.Arguments.Contains(grantKey));

        // Read again at least twice, each time between half and seven tenths of the 2 s lifetime after the last reading.
        var before = GrantReadings();
        var clock = Stopwatch.StartNew();
        while (GrantReadings() < before + 2)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the grant was read again {GrantReadings() - before} times in {clock.Elapsed.TotalSeconds:F1} s");
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        Assert.Same(found, remembered!.Grant);

        // A refresh changes the grant.
        world.Webex.ExpireAccessTokens();
        await RememberedOnAsync(browser, gateway);
        Assert.NotSame(found, remembered.Grant);
        Assert.NotEqual(found!.Authorization, remembered.Grant!.Authorization);
    }

    /// <remarks>
    /// Redis answers A's reading of a record, then B deletes the record, and B's announcement reaches A while A's answer is
    /// still on its way. Kept as it was read, the deleted record would be served by A until it is read again, minutes
    /// later; A reads it again instead, before it answers.
    /// </remarks>
    [Fact]
    public async Task A_reading_overtaken_by_an_announced_delete_is_read_again_not_kept()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var a = world.AddGateway(LongCache);
        var b = world.AddGateway(LongCache);
        await WaitUntilHearingAsync(a, b);
        var cache = a.Services.GetRequiredService<RecordCache>();
        var records = new ChangingRecords { Stored = "signed in", SlowAnswerDelay = TimeSpan.FromSeconds(1) };
        var key = $"{world.KeyPrefix}test:raced";

        var reading = cache.GetOrReadAsync(key, "raced", records).AsTask();
        await WaitForAsync(() => records.Fetches == 1, TimeSpan.FromSeconds(5), "Redis answered A's reading");
        records.Stored = null;
        await b.Services.GetRequiredService<RecordCache>().DeletedAsync(key);

        Assert.False(reading.IsCompleted, "the announcement did not overtake the reading: the test proves nothing");
        Assert.Null(await reading);
        Assert.Null(await cache.GetOrReadAsync(key, "raced", records));
        Assert.Equal(2, records.Fetches);
    }

    /// <remarks>
    /// A record A holds falls due and is read again in the background; Redis answers, then B writes the record, and B's
    /// announcement reaches A only after A kept its reading. That entry is newer than the announced write, so FusionCache
    /// by itself would ignore the announcement and A would serve the old record until its next reading, minutes later
    /// with the default lifetime. The announcement marks it stale anyway, and A's next call reads the write.
    /// </remarks>
    [Fact]
    public async Task A_write_announced_after_an_older_background_reading_was_kept_still_marks_it_stale()
    {
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var a = world.AddGateway(Lifetimes("00:00:20"), redis: relay.ConnectionString);
        var b = world.AddGateway(LongCache);
        await WaitUntilHearingAsync(a, b);
        var cache = a.Services.GetRequiredService<RecordCache>();
        var records = new ChangingRecords { Stored = "first", SlowFetch = 2, SlowAnswerDelay = TimeSpan.FromSeconds(0.5) };
        var key = $"{world.KeyPrefix}test:late";
        Assert.Equal("first", await cache.GetOrReadAsync(key, "late", records));

        // Due between 10 and 14 s: the background reading starts, and Redis answers it "first".
        await WaitForAsync(async () => await cache.GetOrReadAsync(key, "late", records) is "first" && records.Fetches == 2,
            TimeSpan.FromSeconds(20), "A's background reading started");
        relay.HoldMessagesOnSubscribedLinks();
        records.Stored = "second";
        await b.Services.GetRequiredService<RecordCache>().WrittenAsync(key, (object)"second", System.Text.Encoding.UTF8.GetBytes("second"));
        await records.SlowAnswered;
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        Assert.Equal("first", await cache.GetOrReadAsync(key, "late", records));
        Assert.Equal(2, records.Fetches);

        await relay.ReleaseHeldMessagesAsync();
        await WaitForAsync(async () => await cache.GetOrReadAsync(key, "late", records) is "second", TimeSpan.FromSeconds(5),
            "A reads the record again once the write's announcement arrives");
    }

    /// <summary>
    /// A record whose stored value the test changes. Fetch number <see cref="SlowFetch"/> takes the value Redis holds when
    /// it starts and answers <see cref="SlowAnswerDelay"/> later; the others answer at once (a slow reading of a record
    /// held stale would be served stale: <c>FactorySoftTimeout</c>).
    /// </summary>
    private sealed class ChangingRecords : IStoredRecords<object>
    {
        private readonly TaskCompletionSource _slowAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _fetches;

        public string? Stored { get; set; }

        public int SlowFetch { get; init; } = 1;

        public TimeSpan SlowAnswerDelay { get; init; }

        public int Fetches => Volatile.Read(ref _fetches);

        /// <summary>Completes once the slow fetch has answered.</summary>
        public Task SlowAnswered => _slowAnswered.Task;

        public async Task<StackExchange.Redis.RedisValue> FetchAsync(string id)
        {
            var stored = Stored;
            if (Interlocked.Increment(ref _fetches) == SlowFetch)
            {
                await Task.Delay(SlowAnswerDelay);
                _slowAnswered.TrySetResult();
            }

            return stored is null ? StackExchange.Redis.RedisValue.Null : System.Text.Encoding.UTF8.GetBytes(stored);
        }

        public Task<object?> DecodeAsync(string id, byte[] stored) => Task.FromResult<object?>(System.Text.Encoding.UTF8.GetString(stored));
    }

    /// <summary>Records whose stored bytes never change, with the time of every fetch.</summary>
    private sealed class ClockedRecords : IStoredRecords<object>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, List<TimeSpan>> _fetches = new();

        public List<TimeSpan> Fetches(string id)
        {
            var fetches = _fetches.GetOrAdd(id, _ => []);
            lock (fetches)
            {
                return [.. fetches];
            }
        }

        /// <summary>How long a fetch takes, as a slow Redis would.</summary>
        public TimeSpan FetchDelay { get; set; }

        public async Task<StackExchange.Redis.RedisValue> FetchAsync(string id)
        {
            var fetches = _fetches.GetOrAdd(id, _ => []);
            lock (fetches)
            {
                fetches.Add(_clock.Elapsed);
            }

            await Task.Delay(FetchDelay);
            return System.Text.Encoding.UTF8.GetBytes(id);
        }

        public Task<object?> DecodeAsync(string id, byte[] stored) => Task.FromResult<object?>(id);
    }

    /// <remarks>
    /// B reads the session A wrote from Redis and keeps it cached, but not its decoded ticket: the cookie handler gets a
    /// ticket of its own on each read, made from the bytes the session was stored as, equal to the one A stored, and what
    /// the handler changes in one is not in the next.
    /// </remarks>
    [Fact]
    public async Task A_cached_session_gives_the_cookie_handler_a_ticket_of_its_own_on_each_read()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (a, b, browser) = await SignedInOnAOfTwoAsync(world);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(b), csrf: true)).StatusCode);

        var request = new DefaultHttpContext();
        request.Request.Headers.Cookie = $"{SessionCookie}={browser.SessionCookie(a.Address)}";
        var sessionId = b.Services.GetRequiredService<SessionCookies>().SessionIdOf(request);
        Assert.NotNull(sessionId);
        var store = b.Services.GetRequiredService<RedisTicketStore>();
        var cached = await store.FindAsync(sessionId);
        Assert.NotNull(cached);

        var first = await store.RetrieveAsync(sessionId);
        Assert.NotNull(first);
        first.Properties.ExpiresUtc = DateTimeOffset.UnixEpoch;
        first.Properties.Items["changed-by-the-handler"] = "yes";
        var second = await store.RetrieveAsync(sessionId);
        Assert.NotNull(second);

        Assert.Same(cached, await store.FindAsync(sessionId));
        Assert.NotSame(first, second);
        Assert.Equal(cached.ExpiresUtc, second.Properties.ExpiresUtc);
        Assert.DoesNotContain("changed-by-the-handler", second.Properties.Items.Keys);
        Assert.Equal(world.Person.Id, second.Principal.GetPersonId());
        Assert.Equal(cached.Owner, SessionOwner.Of(second.Principal));
        Assert.Equal(cached.SignedInAt, StoredSession.SignedInAtOf(second.Properties));
    }

    /// <remarks>
    /// The access token B cached is revoked at Webex behind every gateway's back (nothing in Redis changes, nobody
    /// publishes anything). B must not pass Webex's 401 on: it refreshes, replays, and from then on sends the new token;
    /// and A, which cached the same grant, picks up B's refresh without a token call of its own.
    /// </remarks>
    [Fact]
    public async Task A_cached_token_Webex_rejects_is_refreshed_and_replayed_and_every_instance_then_sends_the_new_one()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (a, b, browser) = await SignedInOnAOfTwoAsync(world);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(a), csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(b), csrf: true)).StatusCode);
        var oldToken = world.Webex.LastAccessTokenFor(world.Person.Id)!;
        world.Webex.ExpireAccessTokens(world.Person.Id);
        world.Webex.Reset();

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(b), csrf: true)).StatusCode);

        var newToken = world.Webex.LastAccessTokenFor(world.Person.Id)!;
        Assert.NotEqual(oldToken, newToken);
        Assert.Equal(1, world.Webex.RefreshCalls);
        Assert.Equal(new[] { $"Bearer {oldToken}", $"Bearer {newToken}" }, world.Webex.Requests.Select(r => r.Headers["Authorization"]));

        world.Webex.Reset();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(b), csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(a), csrf: true)).StatusCode);
        Assert.Equal(new[] { $"Bearer {newToken}", $"Bearer {newToken}" }, world.Webex.Requests.Select(r => r.Headers["Authorization"]));
        Assert.Equal(0, world.Webex.TokenCalls);
    }

    /// <remarks>
    /// StorageTests' outage test already covers serving from memory right after Redis goes away, 503 for what an instance
    /// never read, and the grant kept through a refresh that needs the store. This covers what the cache adds: the outage
    /// outlasts <c>Redis:CacheLifetime</c> (1 s here), and the expired cache entries must fall back to
    /// <c>Redis:MemoryFallback</c>, neither to a 401 or 503 nor to deleting anything.
    /// </remarks>
    [Fact]
    public async Task An_outage_longer_than_the_cache_lifetime_is_served_from_memory_and_deletes_nothing()
    {
        var settings = new Dictionary<string, string?> { ["Redis:CacheLifetime"] = "00:00:01", ["Redis:MemoryFallback"] = "00:10:00" };
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(settings, redis: relay.ConnectionString);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        var keys = (await world.Redis.DumpAsync(world.KeyPrefix)).Keys
            .Where(k => k.StartsWith($"{world.KeyPrefix}session:", StringComparison.Ordinal) || k.StartsWith($"{world.KeyPrefix}grant:", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(2, keys.Count);

        relay.CutOff();
        var outage = Stopwatch.StartNew();
        var served = 0;
        while (outage.Elapsed < TimeSpan.FromSeconds(3))
        {
            var call = Stopwatch.StartNew();
            var response = await browser.GetAsync(Api(gateway), csrf: true);
            Assert.True(response.StatusCode == HttpStatusCode.OK,
                $"{(int)response.StatusCode} after {outage.Elapsed.TotalSeconds:F1} s of outage: {await response.Content.ReadAsStringAsync()}");
            Assert.True(call.Elapsed < TimeSpan.FromSeconds(2), $"answered after {call.Elapsed.TotalSeconds:F1} s");
            served++;
            await Task.Delay(250);
        }

        Assert.True(served >= 5);
        relay.Restore();
        await WaitForAsync(async () => (await browser.GetAsync(new Uri(gateway.Address, "/readyz"))).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "the gateway is ready again");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);

        var after = await world.Redis.DumpAsync(world.KeyPrefix);
        Assert.All(keys, key => Assert.Contains(key, after.Keys));
        Assert.Equal(0, world.Webex.RefreshCalls);
    }

    /// <remarks>
    /// Through an outage a record is served from memory for <c>Redis:MemoryFallback</c> (3 s here) after it was last read,
    /// and then the call is a 503, not served on: a record read again unchanged keeps its entry, so the window is counted
    /// from the reading, not from when the entry was made. Redis back, the same cookie is answered again.
    /// </remarks>
    [Fact]
    public async Task Through_an_outage_a_record_is_served_from_memory_for_the_memory_fallback_after_its_last_reading_then_503()
    {
        var settings = Lifetimes("00:00:01");
        settings["Redis:MemoryFallback"] = "00:00:03";
        using var relay = RedisRelay.Start(redis.ConnectionString);
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(settings, redis: relay.ConnectionString);
        await WaitUntilHearingAsync(gateway);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        // Long enough for the session and the grant to be read again, unchanged, several times.
        var calls = Stopwatch.StartNew();
        while (calls.Elapsed < TimeSpan.FromSeconds(4))
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
            await Task.Delay(50);
        }

        relay.CutOff();
        var outage = Stopwatch.StartNew();
        var statuses = new List<(TimeSpan At, HttpStatusCode Status, int ServedLogged)>();
        int ServedLogged() => gateway.Logs.Count(line => line.Contains("read recently from memory", StringComparison.Ordinal));
        while (outage.Elapsed < TimeSpan.FromSeconds(6))
        {
            var status = (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode;
            statuses.Add((outage.Elapsed, status, ServedLogged()));
            await Task.Delay(100);
        }

        output.WriteLine(string.Join(", ", statuses.Select(s => $"{s.At.TotalSeconds:F1} s {(int)s.Status}")));
        // Read at most one lifetime before the outage: served for at least two seconds of it.
        Assert.All(statuses.Where(s => s.At < TimeSpan.FromSeconds(1.9)), s => Assert.Equal(HttpStatusCode.OK, s.Status));
        var first503 = statuses.FirstOrDefault(s => s.Status == HttpStatusCode.ServiceUnavailable);
        Assert.True(first503.At > TimeSpan.Zero && first503.At < TimeSpan.FromSeconds(4.5), "no 503 within 4.5 s of a 3 s memory fallback");
        Assert.All(statuses.Where(s => s.At > first503.At), s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s.Status));
        // Logged while served from memory (event 14), and not once the calls are refused.
        Assert.True(first503.ServedLogged > 0, "serving from memory was not logged");
        Assert.Equal(first503.ServedLogged, statuses[^1].ServedLogged);

        relay.Restore();
        await WaitForAsync(async () => (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "the same cookie is answered once Redis is back");
    }

    /// <summary>
    /// The multiplexer's own commands, including its tie-break read on (re)connect, which happens to be a GET, and the
    /// pulses that prove the subscription (<see cref="SubscriptionWatch"/>), one every half <c>Redis:CacheLifetime</c>.
    /// </summary>
    private static bool IsConnectionHousekeeping(RedisRelay.RelayedCommand command) =>
        ConnectionHousekeeping.Contains(command.Name) || command.Arguments.Any(a => a.StartsWith("__Booksleeve", StringComparison.Ordinal))
        || (command.Name.Equals("PUBLISH", StringComparison.OrdinalIgnoreCase) && command.Arguments.Any(a => a.EndsWith("records:pulse", StringComparison.Ordinal)));

    /// <summary>
    /// Until a gateway hears its first pulse it may not have heard an announcement, and it marks its whole cache stale when
    /// it does: a test that counts reads or times a record's lifetime starts after that.
    /// </summary>
    private static Task WaitUntilHearingAsync(params GatewayHost[] gateways) =>
        WaitForAsync(() => gateways.All(g => g.Services.GetRequiredService<SubscriptionWatch>().Hearing),
            TimeSpan.FromSeconds(10), "every gateway heard its subscription's first pulse");

    /// <summary>
    /// Two gateways that cache for longer than any test (so only an invalidation can change what they hold), and a
    /// browser signed in on the first; <paramref name="bRedis"/> puts a relay in front of the second's Redis.
    /// </summary>
    /// <summary>
    /// A gateway whose Redis commands all pass <paramref name="relay"/>, hearing its subscription, with a browser signed in
    /// whose first call was answered. The per-person limit leases its permits in batches (FairShareTests counts what that
    /// costs): off here.
    /// </summary>
    private static async Task<(GatewayHost Gateway, Browser Browser)> SignedInThroughAsync(RedisRelay relay, TestWorld world)
    {
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Gateway:RateLimit:PermitsPerMinute"] = "0" }, redis: relay.ConnectionString);
        var browser = world.NewBrowser();
        await WaitUntilHearingAsync(gateway);
        await browser.SignInAsync(gateway.Address);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        return (gateway, browser);
    }

    private static async Task<(GatewayHost A, GatewayHost B, Browser Browser)> SignedInOnAOfTwoAsync(TestWorld world, string? bRedis = null)
    {
        var a = world.AddGateway(LongCache);
        var b = world.AddGateway(LongCache, redis: bRedis);
        await WaitUntilHearingAsync(a, b);
        var browser = world.NewBrowser();
        await browser.SignInAsync(a.Address);
        return (a, b, browser);
    }

    /// <summary>A gateway's <c>Redis:CacheLifetime</c>, and its <c>Redis:CacheLifetimeWhileSubscribed</c> (the same unless given).</summary>
    private static Dictionary<string, string?> Lifetimes(string lifetime, string? whileSubscribed = null) => new()
    {
        ["Redis:CacheLifetime"] = lifetime,
        ["Redis:CacheLifetimeWhileSubscribed"] = whileSubscribed ?? lifetime,
    };

    private static Uri Api(GatewayHost gateway) => new(gateway.Address, "/webex/v1/people/me");

    /// <summary>How many times, from now on, <paramref name="gateway"/>'s FusionCache sets <paramref name="key"/> in memory.</summary>
    private static Func<int> SetsOf(GatewayHost gateway, string key)
    {
        var sets = 0;
        gateway.Services.GetRequiredService<IFusionCache>().Events.Memory.Set += (_, e) =>
        {
            if (e.Key == key)
            {
                Interlocked.Increment(ref sets);
            }
        };
        return () => Volatile.Read(ref sets);
    }

    /// <summary>
    /// Calls <paramref name="gateway"/> until it answers the cookie from what it remembers: the first call goes through the
    /// cookie handler, the second finds the session and the grant in the cache and keeps the grant on the cookie
    /// (<see cref="SignedInGrants"/>), the third is answered from it. What another instance changes must end that too.
    /// </summary>
    private static async Task RememberedOnAsync(Browser browser, GatewayHost gateway)
    {
        for (var call = 0; call < 3; call++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(Api(gateway), csrf: true)).StatusCode);
        }
    }

    /// <summary>A second browser holding the first one's session cookie.</summary>
    private static Browser SameCookie(Browser browser, GatewayHost gateway)
    {
        var cookie = browser.SessionCookie(gateway.Address);
        Assert.NotNull(cookie);
        var copy = new Browser();
        copy.Cookies.Add(gateway.Address, new Cookie(SessionCookie, cookie));
        return copy;
    }

    /// <summary>
    /// Polls the API every 50 ms until the gateway answers 401 login_required, failing once <paramref name="within"/> has
    /// passed on <paramref name="clock"/>; meanwhile only 200 (the stale cache) is acceptable.
    /// </summary>
    private static async Task AssertLoginRequiredWithinAsync(Browser browser, GatewayHost gateway, Stopwatch clock, TimeSpan within)
    {
        var statuses = new List<int>();
        while (true)
        {
            var response = await browser.GetAsync(Api(gateway), csrf: true);
            statuses.Add((int)response.StatusCode);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
                Assert.True(clock.Elapsed < within,
                    $"401 only after {clock.Elapsed.TotalMilliseconds:0} ms (limit {within.TotalMilliseconds:0} ms); statuses meanwhile: {string.Join(", ", statuses)}");
                return;
            }

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            Assert.True(clock.Elapsed < within,
                $"still served after {clock.Elapsed.TotalMilliseconds:0} ms (limit {within.TotalMilliseconds:0} ms); statuses: {string.Join(", ", statuses)}");
            await Task.Delay(50);
        }
    }

    /// <summary>The relay's link on which the gateway subscribed to a channel under its key prefix (the spec scopes the channel by it).</summary>
    private static async Task<int> SubscriptionUnderPrefixAsync(RedisRelay relay, string prefix)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var subscribed = relay.SubscribedLinks;
            if (subscribed.FirstOrDefault(l => l.Channels.Any(c => c.Contains(prefix, StringComparison.Ordinal))) is { Channels: not null } found)
            {
                return found.Link;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5),
                "the gateway did not subscribe to a channel under its key prefix within 5 s; its subscriptions: "
                + string.Join("; ", subscribed.Select(l => $"link {l.Link}: {string.Join(", ", l.Channels)}")));
            await Task.Delay(20);
        }
    }

    private static Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitForAsync(() => Task.FromResult(condition()), timeout, what);

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"not within {timeout.TotalSeconds:0} s: {what}");
            await Task.Delay(20);
        }
    }
}
