using StackExchange.Redis;
using WebexGateway.Grants;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Webhooks;

/// <summary>
/// Webex disables a webhook whose deliveries keep failing (the gateway was down or unreachable), and nothing tells the
/// gateway. Once per <see cref="Interval"/> one instance (whichever claims the run in Redis first) reconciles every person
/// it made webhooks for, which reactivates the disabled ones, and forgets the records of people whose grant is gone.
/// </summary>
public sealed class WebhookCheck(
    WebhookLifecycle lifecycle,
    WebhookTarget target,
    WebhookStore store,
    GrantStore grants,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    TimeProvider time,
    ILogger<WebhookCheck> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunOnceAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // A sign-in's reconcile or a logout's removal under way finishes rather than leaving a webhook half made.
            await lifecycle.IdleAsync().WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Runs unless another instance already ran within the interval; returns how many webhooks it reactivated.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (!target.IsOn)
        {
            return 0;
        }

        try
        {
            // The marker lives one interval (less a little jitter), so exactly one instance runs per interval.
            if (!await redis.GetDatabase().StringSetAsync(keys.WebhookCheckRun, Environment.MachineName, Interval * 0.9, When.NotExists))
            {
                return 0;
            }

            var people = await store.PeopleAsync();
            var reactivated = 0;
            var forgotten = 0;
            foreach (var personId in people)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (await grants.ReadAsync(personId) is null)
                {
                    await lifecycle.ForgetAsync(personId, null);
                    forgotten++;
                    continue;
                }

                reactivated += await lifecycle.ReconcileAsync(personId, "check", cancellationToken) ?? 0;
            }

            Log.WebhookCheckRan(logger, people.Count, reactivated, forgotten);
            return reactivated;
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            Log.WebhookCheckFailed(logger, e.GetType().Name);
            return 0;
        }
    }
}
