using System.Diagnostics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Grants;

public enum RefreshTrigger
{
    /// <summary>The access token expires within <c>Webex:RefreshBeforeExpiry</c>.</summary>
    Expiry,

    /// <summary>Webex answered 401.</summary>
    Unauthorized,

    /// <summary>The refresh token would lapse unused.</summary>
    KeepAlive,
}

public enum RefreshStatus
{
    /// <summary>The grant now holds an access token other than the stale one.</summary>
    Refreshed,

    /// <summary>The grant is gone or Webex refused it: the user must sign in again.</summary>
    LoginRequired,

    /// <summary>Webex or Redis could not be asked; the grant is kept as it was.</summary>
    Unavailable,
}

/// <param name="Kind">For telemetry: <c>refreshed</c> (this call got a new token), <c>joined</c> (another's refresh served it),
/// <c>invalid_grant</c> (Webex refused the grant) or <c>failed</c>.</param>
public sealed record RefreshOutcome(RefreshStatus Status, string Kind, Grant? Grant = null, string? Reason = null, TokenFailure? Failure = null);

/// <summary>
/// Single-flight token refresh. Within one process, concurrent callers for the same person share one task;
/// across instances, a Redis lock elects one refresher and the others wait and re-read the grant.
/// A caller holding a stale token whose grant already holds a newer one gets the newer one without a token call.
/// </summary>
public sealed class RefreshCoordinator(
    GrantStore grants,
    TokenClient tokens,
    RedisLock locks,
    RedisKeys keys,
    TimeProvider time,
    IOptions<WebexOptions> options,
    GatewayMetrics metrics,
    ILogger<RefreshCoordinator> logger) : IHostedService
{
    private readonly Dictionary<string, Task<RefreshOutcome>> _inFlight = [];
    private readonly Lock _gate = new();
    private readonly WebexOptions _webex = options.Value;

    /// <summary>
    /// As long as a token call may take, and renewed while it runs, so a second refresher never starts while one runs;
    /// short, so that a lock whose holder died (or could not release it while Redis was away) soon frees itself.
    /// </summary>
    private TimeSpan LeaseTime => _webex.TokenRequestTimeout;

    /// <summary>How long a waiter on another instance's refresh waits before it gives up with 503: the holder's call is over by then.</summary>
    private TimeSpan MaxWait => _webex.TokenRequestTimeout + TimeSpan.FromSeconds(1);

    public async Task<RefreshOutcome> RefreshAsync(string personId, string staleAccessToken, RefreshTrigger trigger, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        Task<RefreshOutcome> task;
        var joined = true;
        lock (_gate)
        {
            if (!_inFlight.TryGetValue(personId, out task!))
            {
                joined = false;
                // Detached from the caller: a client that goes away must not cancel a refresh others wait for.
                task = Task.Run(() => RunAsync(personId, staleAccessToken, trigger), CancellationToken.None);
                _inFlight[personId] = task;
                task.ContinueWith(
                    finished =>
                    {
                        lock (_gate)
                        {
                            if (_inFlight.TryGetValue(personId, out var current) && current == finished)
                            {
                                _inFlight.Remove(personId);
                            }
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }

        var outcome = await task.WaitAsync(cancellationToken);
        metrics.Refresh(TriggerName(trigger), joined && outcome.Status == RefreshStatus.Refreshed ? "joined" : outcome.Kind, Stopwatch.GetElapsedTime(started));
        return outcome;
    }

    private static string TriggerName(RefreshTrigger trigger) => trigger switch
    {
        RefreshTrigger.Expiry => "expiry",
        RefreshTrigger.Unauthorized => "unauthorized",
        _ => "keep_alive",
    };

    private async Task<RefreshOutcome> RunAsync(string personId, string staleAccessToken, RefreshTrigger trigger)
    {
        using var activity = GatewayTelemetry.ActivitySource.StartActivity("grant.refresh");
        activity?.SetTag("webex_gateway.refresh.trigger", TriggerName(trigger));
        var outcome = await RefreshOnceAsync(personId, staleAccessToken);
        activity?.SetTag("webex_gateway.refresh.outcome", outcome.Kind);
        if (outcome.Status != RefreshStatus.Refreshed)
        {
            activity?.SetStatus(ActivityStatusCode.Error, outcome.Kind);
        }

        return outcome;
    }

    private async Task<RefreshOutcome> RefreshOnceAsync(string personId, string staleAccessToken)
    {
        var waited = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(20);
        Activity? lockWait = null;
        try
        {
            while (true)
            {
                var current = await grants.ReadAsync(personId);
                if (current is null)
                {
                    return new RefreshOutcome(RefreshStatus.LoginRequired, "failed", Reason: "no grant");
                }

                if (current.AccessToken != staleAccessToken)
                {
                    return new RefreshOutcome(RefreshStatus.Refreshed, "joined", current);
                }

                await using (var lease = await locks.TryAcquireAsync(keys.RefreshLock(personId), LeaseTime))
                {
                    if (lease is not null)
                    {
                        return await RefreshHoldingLockAsync(personId, staleAccessToken);
                    }
                }

                // Another instance holds the lock: wait for its refresh, and say so in the trace.
                lockWait ??= GatewayTelemetry.ActivitySource.StartActivity("lock.wait");
                if (waited.Elapsed > MaxWait)
                {
                    return new RefreshOutcome(RefreshStatus.Unavailable, "failed", Reason: "another instance's refresh did not finish in time");
                }

                await Task.Delay(pause);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 250));
            }
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            metrics.RedisError("refresh");
            Log.RefreshStoreFailed(logger, e.GetType().Name);
            return new RefreshOutcome(RefreshStatus.Unavailable, "failed", Reason: "the grant store is unavailable");
        }
        finally
        {
            if (lockWait is not null)
            {
                metrics.LockWait(waited.Elapsed);
                lockWait.Dispose();
            }
        }
    }

    private async Task<RefreshOutcome> RefreshHoldingLockAsync(string personId, string staleAccessToken)
    {
        // Re-read under the lock: the previous holder may have refreshed between our read and our lock.
        var found = await grants.ReadStoredAsync(personId);
        var current = found.Grant;
        if (current is null)
        {
            return new RefreshOutcome(RefreshStatus.LoginRequired, "failed", Reason: "no grant");
        }

        if (current.AccessToken != staleAccessToken)
        {
            return new RefreshOutcome(RefreshStatus.Refreshed, "joined", current);
        }

        try
        {
            var response = await tokens.RefreshAsync(current.RefreshToken, CancellationToken.None);
            var refreshed = current.Refreshed(response, time.GetUtcNow());
            if (!await grants.ReplaceAsync(found, refreshed))
            {
                // Signed out (or in afresh) while Webex answered: what Redis holds now wins, so no logout is undone.
                return await grants.ReadAsync(personId) is { } now
                    ? new RefreshOutcome(RefreshStatus.Refreshed, "joined", now)
                    : new RefreshOutcome(RefreshStatus.LoginRequired, "failed", Reason: "no grant");
            }

            Log.GrantRefreshed(logger, refreshed.AccessTokenExpiresAt);
            return new RefreshOutcome(RefreshStatus.Refreshed, "refreshed", refreshed);
        }
        catch (TokenEndpointException e) when (e.Failure == TokenFailure.InvalidGrant)
        {
            await grants.DeleteAsync(personId, current);
            Log.GrantRevoked(logger, e.TrackingId);
            return new RefreshOutcome(RefreshStatus.LoginRequired, "invalid_grant", Reason: "Webex no longer accepts the grant");
        }
        catch (TokenEndpointException e)
        {
            Log.RefreshFailed(logger, e.Failure, e.Message, e.TrackingId);
            return new RefreshOutcome(RefreshStatus.Unavailable, "failed", Reason: e.Message, Failure: e.Failure);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A refresh whose client went away still runs; shutting down waits for it, so no lock is left behind.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task[] running;
        lock (_gate)
        {
            running = [.. _inFlight.Values];
        }

        if (running.Length > 0)
        {
            Log.DrainingRefreshes(logger, running.Length);
            await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
