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

    private static Task ClearRunMarkerAsync(TestWorld world)
        => world.Redis.Redis.GetDatabase().KeyDeleteAsync($"{world.KeyPrefix}keep-alive:last-run");
}
