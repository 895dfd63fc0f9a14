using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebexGateway.Grants;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Grants;

[Collection(GatewayCollection.Name)]
public sealed class KeepAliveTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_grant_whose_refresh_token_would_lapse_is_refreshed_once_by_one_instance()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var longSessions = new Dictionary<string, string?> { ["Session:IdleTimeout"] = "100.00:00:00", ["Session:AbsoluteLifetime"] = "100.00:00:00" };
        var (first, browser) = await world.SignedInAsync(longSessions, time);
        var second = world.AddGateway(longSessions, time);
        var keepAlive = first.Services.GetRequiredService<GrantKeepAlive>();
        await ClearRunMarkerAsync(world);

        // Nothing is due yet: 90 days left.
        Assert.Equal(0, await keepAlive.RunOnceAsync(CancellationToken.None));
        Assert.Equal(0, world.Webex.RefreshCalls);

        // 85 days on, both instances' schedules fire; one claims the run.
        await ClearRunMarkerAsync(world);
        time.Advance(TimeSpan.FromDays(85));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        bool Ran() => first.Logs.Concat(second.Logs).Any(line => line.Contains("Keep-alive: 1 grant(s)", StringComparison.Ordinal));
        while (!Ran() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await Task.Delay(500);
        Assert.Equal(1, world.Webex.RefreshCalls);
        var keepAliveLines = first.Logs.Concat(second.Logs).Where(line => line.Contains("Keep-alive", StringComparison.Ordinal)).ToList();
        Assert.True(keepAliveLines.Count(line => line.Contains("Keep-alive: 1 grant(s)", StringComparison.Ordinal)) == 1, string.Join("\n", keepAliveLines));
        var user = await browser.GetAsync(new Uri(first.Address, "/auth/user"));
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        Assert.True(json.RootElement.GetProperty("accessTokenExpiresAt").GetDateTimeOffset() > time.GetUtcNow().AddDays(13));
    }

    [Fact]
    public async Task The_keep_alive_removes_index_entries_whose_grant_is_gone_and_the_gauge_counts_only_live_grants()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (gateway, _) = await world.SignedInAsync(time: time);
        var db = world.Redis.Redis.GetDatabase();
        var index = $"{world.KeyPrefix}grants:by-refresh-expiry";
        var now = time.GetUtcNow();
        // Due for the keep-alive, but nothing under its key: deleted behind the gateway's back.
        await db.SortedSetAddAsync(index, "gone", now.AddDays(1).ToUnixTimeSeconds());
        // Its refresh token, hence its key, expired a day ago.
        await db.SortedSetAddAsync(index, "expired", now.AddDays(-1).ToUnixTimeSeconds());
        // A key that exists but cannot be read: a failed read deletes nothing.
        await db.StringSetAsync($"{world.KeyPrefix}grant:unreadable", "not a grant", TimeSpan.FromDays(1));
        await db.SortedSetAddAsync(index, "unreadable", now.AddDays(1).ToUnixTimeSeconds());
        Assert.Equal(3, GrantsGauge(gateway)); // the expired one is not counted; "gone" still looks live
        await ClearRunMarkerAsync(world);

        await gateway.Services.GetRequiredService<GrantKeepAlive>().RunOnceAsync(CancellationToken.None);

        Assert.Null(await db.SortedSetScoreAsync(index, "gone"));
        Assert.Null(await db.SortedSetScoreAsync(index, "expired"));
        Assert.NotNull(await db.SortedSetScoreAsync(index, "unreadable"));
        Assert.NotNull(await db.SortedSetScoreAsync(index, world.Person.Id));
        Assert.Equal(2, GrantsGauge(gateway));
        Assert.Contains(gateway.Logs, l => l.Contains("Keep-alive: 2 index entr(ies)", StringComparison.Ordinal));
        Assert.Equal(0, world.Webex.RefreshCalls);
    }

    /// <summary>The gateway's <c>webex_gateway.grants</c> gauge, observed now.</summary>
    private static long? GrantsGauge(GatewayHost gateway)
    {
        var meters = gateway.Services.GetRequiredService<IMeterFactory>();
        long? value = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "webex_gateway.grants")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, _, _) => value = measurement);
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }

    private static Task ClearRunMarkerAsync(TestWorld world)
        => world.Redis.Redis.GetDatabase().KeyDeleteAsync($"{world.KeyPrefix}keep-alive:last-run");
}
