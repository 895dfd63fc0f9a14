using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Grants;

/// <summary>
/// Webex refresh tokens live 90 days and are renewed when used. A user who does not come back for that long would
/// lose their grant, so once per <c>Gateway:KeepAliveInterval</c> one instance (whichever claims the run in Redis first)
/// refreshes every grant whose refresh token expires within <c>Gateway:KeepAliveWindow</c>.
/// </summary>
public sealed class GrantKeepAlive(
    GrantStore grants,
    RefreshCoordinator refresher,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    TimeProvider time,
    IOptions<GatewayOptions> options,
    ILogger<GrantKeepAlive> logger) : BackgroundService
{
    private readonly GatewayOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.KeepAliveInterval, time);
        try
        {
            do
            {
                await RunOnceAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Runs unless another instance already ran within the interval; returns how many grants it refreshed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            // The marker lives one interval (less a little jitter), so exactly one instance runs per interval.
            var claimed = await redis.GetDatabase().StringSetAsync(keys.KeepAliveRun, Environment.MachineName, _options.KeepAliveInterval * 0.9, When.NotExists);
            if (!claimed)
            {
                return 0;
            }

            var due = await grants.ExpiringBeforeAsync(time.GetUtcNow() + _options.KeepAliveWindow);
            var refreshed = 0;
            var failed = 0;
            var forgotten = 0;
            foreach (var personId in due)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var grant = await grants.ReadAsync(personId);
                if (grant is null)
                {
                    // Its key expired or was deleted behind the gateway's back: the index entry goes too. An unreadable
                    // grant that still exists keeps its entry.
                    if (await grants.ForgetIfGoneAsync(personId))
                    {
                        forgotten++;
                    }

                    continue;
                }

                var outcome = await refresher.RefreshAsync(personId, grant.AccessToken, RefreshTrigger.KeepAlive, cancellationToken);
                if (outcome.Status == RefreshStatus.Refreshed)
                {
                    refreshed++;
                }
                else
                {
                    failed++;
                }
            }

            Log.KeepAliveRan(logger, refreshed, _options.KeepAliveWindow, failed);
            if (forgotten > 0)
            {
                Log.KeepAliveForgot(logger, forgotten);
            }

            return refreshed;
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            Log.KeepAliveFailed(logger, e.GetType().Name);
            return 0;
        }
    }
}
