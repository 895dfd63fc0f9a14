using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Storage;

/// <summary>
/// Real redis-server primary and replica with redis-sentinel (skipped where they are not installed): the primary dies,
/// Sentinel promotes the replica, and two gateways connected through Sentinel keep serving the same cookie with the same grant.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class FailoverTests(RedisFixture redis, ITestOutputHelper output)
{
    /// <summary>How long the gateways may take to serve again after the primary dies.</summary>
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Through_sentinel_two_gateways_keep_serving_after_the_primary_dies_and_no_grant_is_lost()
    {
        using var processes = await RedisProcesses.StartAsync(sentinels: 3);
        await using var world = await TestWorld.StartAsync(redis, output);
        // With rotating refresh tokens, losing the last grant written would also lose the only valid refresh token.
        world.Webex.RotateRefreshTokens = true;
        var connectionString = processes.SentinelConnectionString;
        var settings = new Dictionary<string, string?> { ["Redis:WaitForReplicas"] = "1" };
        var first = world.AddGateway(settings, redis: connectionString);
        var second = world.AddGateway(settings, redis: connectionString);
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        await AssertServesAsync(browser, first, second);

        // The last grant written before the crash: a refresh (new access token, new refresh token) through the second gateway.
        world.Webex.ExpireAccessTokens();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(second.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
        var grantKey = await SingleGrantKeyAsync(processes.Primary.Port, world.KeyPrefix);
        var grantBefore = (string?)await RedisProcesses.CommandAsync(processes.Primary.Port, "GET", grantKey);
        Assert.NotNull(grantBefore);
        // WAIT 1 was answered by the replica for every grant write so far.
        Assert.DoesNotContain(first.Logs.Concat(second.Logs), line => line.Contains("replicas confirmed it", StringComparison.Ordinal));

        var clock = Stopwatch.StartNew();
        RedisProcesses.Stop(processes.Primary);

        // Reads: the same cookie on both gateways. StackExchange.Redis reads from the replica while no primary is
        // connected; until the gateways have the new primary, a request that has to write may answer 503 (store
        // unavailable, Retry-After), never 401 (that would be a lost session or grant) or 500.
        var seen = new SortedSet<int>();
        await PollAsync(clock, processes, "both gateways serve /auth/user and /webex/v1/people/me", async () =>
        {
            var statuses = await StatusesAsync(browser, first, second);
            seen.UnionWith(statuses);
            Assert.All(statuses, status => Assert.Contains(status, new[] { 200, 503 }));
            return statuses.All(s => s == 200);
        });
        var readsBack = clock.Elapsed;

        var newPrimary = await processes.WaitForPromotionAsync(processes.Primary, RecoveryDeadline - clock.Elapsed);
        var promoted = clock.Elapsed;
        Assert.Equal(processes.Replica.Port, newPrimary);
        await PollAsync(clock, processes, "both gateways are connected to the new primary", () =>
            Task.FromResult(new[] { first, second }.All(g => ConnectedToPrimary(g, newPrimary))));
        var switched = clock.Elapsed;

        // The grant written just before the crash is the one on the new primary, and it is still in use: no refresh was needed.
        Assert.Equal(grantBefore, (string?)await RedisProcesses.CommandAsync(newPrimary, "GET", grantKey));
        Assert.Equal(1, world.Webex.RefreshCalls);
        Assert.Equal(1, world.Webex.CodeExchanges);

        // Writes: a refresh on the new primary, one token call, the rotated refresh token accepted, the grant rewritten.
        world.Webex.ExpireAccessTokens();
        await PollAsync(clock, processes, "a refresh through the first gateway", async () =>
        {
            var status = (int)(await browser.GetAsync(new Uri(first.Address, "/webex/v1/people/me"), csrf: true)).StatusCode;
            seen.Add(status);
            Assert.Contains(status, new[] { 200, 503 });
            return status == 200;
        });
        var refreshed = clock.Elapsed;
        Assert.Equal(2, world.Webex.RefreshCalls);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(second.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.Equal(2, world.Webex.RefreshCalls);
        var grantAfter = (string?)await RedisProcesses.CommandAsync(newPrimary, "GET", grantKey);
        Assert.NotNull(grantAfter);
        Assert.NotEqual(grantBefore, grantAfter);
        await AssertServesAsync(browser, first, second);
        Assert.Equal(1, world.Webex.CodeExchanges);

        output.WriteLine($"after the primary was killed: reads served again at {readsBack.TotalMilliseconds:0} ms, " +
            $"Sentinel promoted the replica at {promoted.TotalMilliseconds:0} ms, both gateways connected to it by {switched.TotalMilliseconds:0} ms, " +
            $"a refresh (write) succeeded at {refreshed.TotalMilliseconds:0} ms; statuses seen meanwhile: {string.Join(", ", seen)}");

        // The new primary has no replica left, so that write was not confirmed: a warning, not a failed request.
        Assert.Contains(first.Logs, line => line.Contains("only 0 of 1 replicas confirmed it", StringComparison.Ordinal));
    }

    /// <summary>Polls until <paramref name="condition"/> holds, failing once <see cref="RecoveryDeadline"/> has passed since the primary died.</summary>
    private static async Task PollAsync(Stopwatch clock, RedisProcesses processes, string what, Func<Task<bool>> condition)
    {
        while (!await condition())
        {
            Assert.True(clock.Elapsed < RecoveryDeadline,
                $"not within {RecoveryDeadline.TotalSeconds:0} s of the primary dying: {what}.\n{processes.Diagnostics()}");
            await Task.Delay(100);
        }
    }

    private static bool ConnectedToPrimary(GatewayHost gateway, int port)
    {
        var multiplexer = gateway.Services.GetRequiredService<IConnectionMultiplexer>();
        return multiplexer.GetServers().Any(s => s.EndPoint is IPEndPoint { Port: var p } && p == port && s.IsConnected && !s.IsReplica);
    }

    private static async Task AssertServesAsync(Browser browser, params GatewayHost[] gateways)
    {
        var statuses = await StatusesAsync(browser, gateways);
        Assert.All(statuses, status => Assert.Equal(200, status));
    }

    /// <summary>/auth/user and a proxied call on each gateway, with the same cookie.</summary>
    private static async Task<int[]> StatusesAsync(Browser browser, params GatewayHost[] gateways)
    {
        var statuses = new List<int>();
        foreach (var gateway in gateways)
        {
            statuses.Add((int)(await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
            statuses.Add((int)(await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        }

        return [.. statuses];
    }

    private static async Task<string> SingleGrantKeyAsync(int port, string prefix)
    {
        var keys = (object?[])(await RedisProcesses.CommandAsync(port, "KEYS", $"{prefix}grant:*"))!;
        return (string)Assert.Single(keys)!;
    }
}
