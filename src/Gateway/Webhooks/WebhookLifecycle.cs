using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Webhooks;

/// <summary>What a person is subscribed to: the pairs their grant's scopes allow, and those skipped for a missing scope.</summary>
public sealed record Subscriptions(IReadOnlyList<EventPair> Subscribed, IReadOnlyList<EventPair> Skipped);

/// <summary>
/// Each signed-in person's Webex webhooks, one per <c>Webex:Events</c> pair their grant can read, made with their own token.
/// After a sign-in, in the background and under a per-person Redis lock (so two instances or two sign-ins never both
/// create), the person's webhooks at Webex with the gateway's target are listed and reconciled with the records: a webhook
/// the gateway holds the secret of is kept (and reactivated when Webex disabled it), any other or any duplicate is deleted,
/// and what is missing is made with a new random secret. When the grant is deleted, its webhooks go (best effort with the
/// last token) and their records always.
/// </summary>
public sealed class WebhookLifecycle(
    WebhookTarget target,
    IOptions<WebhookOptions> options,
    WebhookStore store,
    WebexWebhooks webex,
    GrantStore grants,
    RefreshCoordinator refresher,
    RedisLock locks,
    RedisKeys keys,
    IOptions<WebexOptions> webexOptions,
    TimeProvider time,
    ILogger<WebhookLifecycle> logger) : IGrantFollower
{
    /// <summary>Long enough for the calls one reconcile makes; renewed while it runs, so a holder that died frees it soon.</summary>
    private static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(30);

    /// <summary>How long a reconcile waits for another instance's on the same person: about what that one may take.</summary>
    private static readonly TimeSpan MaxLockWait = TimeSpan.FromSeconds(60);

    private readonly IReadOnlyList<EventPair> _pairs = options.Value.Pairs;
    private readonly ConcurrentDictionary<Task, bool> _running = new();

    /// <summary>The pairs the grant's scopes allow and those they do not; null while live events are off.</summary>
    public Subscriptions? SubscriptionsOf(Grant grant)
    {
        if (!target.IsOn)
        {
            return null;
        }

        var scopes = grant.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return new Subscriptions(_pairs.Where(p => scopes.Contains(p.ReadScope)).ToList(), _pairs.Where(p => !scopes.Contains(p.ReadScope)).ToList());
    }

    public Task SignedInAsync(Grant grant)
    {
        if (target.IsOn)
        {
            InBackground(() => ReconcileAsync(grant.PersonId, "sign_in", CancellationToken.None));
        }

        return Task.CompletedTask;
    }

    public Task DeletedAsync(string personId, Grant? last)
    {
        if (target.IsOn)
        {
            InBackground(() => ForgetAsync(personId, last));
        }

        return Task.CompletedTask;
    }

    /// <summary>Completes when the background work started so far has finished.</summary>
    public Task IdleAsync() => Task.WhenAll(_running.Keys);

    /// <summary>
    /// Makes the person's webhooks at Webex what their grant allows; returns how many it reactivated, or null when it could
    /// not finish (it never throws).
    /// </summary>
    public async Task<int?> ReconcileAsync(string personId, string trigger, CancellationToken cancellationToken)
    {
        try
        {
            if (target.Url is not { } targetUrl)
            {
                return 0;
            }

            await using var lease = await AcquireAsync(personId, cancellationToken);
            if (lease is null)
            {
                Log.WebhookLockBusy(logger, trigger);
                return null;
            }

            // Read under the lock: the grant as the last sign-in left it, or none when a logout came first.
            if (await CurrentGrantAsync(personId, cancellationToken) is not { } grant)
            {
                return 0;
            }

            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await ReconcileWithAsync(grant, targetUrl, trigger, cancellationToken);
                }
                catch (WebhookCallException e) when (e.StatusCode == HttpStatusCode.Unauthorized && attempt == 1)
                {
                    // The token expired or was replaced while this ran: once more with the grant's next token.
                    var outcome = await refresher.RefreshAsync(personId, grant.AccessToken, RefreshTrigger.Unauthorized, cancellationToken);
                    if (outcome is not { Status: RefreshStatus.Refreshed, Grant: { } refreshed })
                    {
                        throw;
                    }

                    grant = refreshed;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var call = e as WebhookCallException;
            Log.WebhooksReconcileFailed(logger, trigger, e.GetType().Name, call?.Message, call?.TrackingId);
            return null;
        }
    }

    private async Task<int> ReconcileWithAsync(Grant grant, string targetUrl, string trigger, CancellationToken cancellationToken)
    {
        var personId = grant.PersonId;
        var subscriptions = SubscriptionsOf(grant)!;
        var wanted = subscriptions.Subscribed.ToHashSet();
        var listed = await webex.ListAsync(grant.AccessToken, targetUrl, cancellationToken);
        var kept = new Dictionary<EventPair, (WebexWebhook Webhook, WebhookRecord Record)>();
        var deleted = 0;
        // Active ones first, so a disabled duplicate is the one that goes.
        foreach (var webhook in listed.OrderBy(w => w.IsActive ? 0 : 1))
        {
            var record = await store.GetAsync(webhook.Id);
            var pair = new EventPair(webhook.Resource ?? "", webhook.Event ?? "");
            if (record is not null && string.Equals(record.PersonId, personId, StringComparison.Ordinal) && record.Pair == pair
                && wanted.Contains(pair) && kept.TryAdd(pair, (webhook, record)))
            {
                continue;
            }

            await webex.DeleteAsync(grant.AccessToken, webhook.Id, cancellationToken);
            await store.DeleteAsync(personId, webhook.Id);
            deleted++;
        }

        var reactivated = 0;
        foreach (var (pair, (webhook, record)) in kept.Where(k => !k.Value.Webhook.IsActive))
        {
            await webex.ActivateAsync(grant.AccessToken, webhook, record.Secret, cancellationToken);
            Log.WebhookReactivated(logger, pair.Resource, pair.Event);
            reactivated++;
        }

        var created = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in subscriptions.Subscribed.Where(p => !kept.ContainsKey(p)))
        {
            var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var webhook = await webex.CreateAsync(grant.AccessToken, targetUrl, pair, secret, cancellationToken);
            await store.SaveAsync(new WebhookRecord(webhook.Id, personId, secret, pair.Resource, pair.Event));
            created.Add(webhook.Id);
        }

        // Records of webhooks Webex no longer has (deleted by the person elsewhere, or never made).
        foreach (var id in await store.IdsOfAsync(personId))
        {
            if (!created.Contains(id) && !kept.Values.Any(k => k.Webhook.Id == id))
            {
                await store.DeleteAsync(personId, id);
            }
        }

        Log.WebhooksReconciled(logger, trigger, kept.Count, created.Count, reactivated, deleted, subscriptions.Skipped.Count);
        return reactivated;
    }

    /// <summary>The person's grant has been deleted: their webhooks at Webex (best effort) and always their records.</summary>
    public async Task ForgetAsync(string personId, Grant? last)
    {
        try
        {
            await using var lease = await AcquireAsync(personId, CancellationToken.None);
            if (await grants.ReadAsync(personId) is not null)
            {
                // Signed in again meanwhile: that sign-in's reconcile keeps or replaces these webhooks.
                return;
            }

            var ids = (await store.IdsOfAsync(personId)).ToHashSet(StringComparer.Ordinal);
            var deleted = 0;
            var failed = 0;
            if (last is not null)
            {
                if (target.Url is { } targetUrl)
                {
                    try
                    {
                        ids.UnionWith((await webex.ListAsync(last.AccessToken, targetUrl, CancellationToken.None)).Select(w => w.Id));
                    }
                    catch (WebhookCallException)
                    {
                        // The last token may no longer work (invalid_grant): the records still name the webhooks.
                    }
                }

                foreach (var id in ids)
                {
                    try
                    {
                        await webex.DeleteAsync(last.AccessToken, id, CancellationToken.None);
                        deleted++;
                    }
                    catch (WebhookCallException)
                    {
                        // Webex keeps posting to a webhook the gateway forgot: each delivery is refused as unknown, and Webex
                        // disables the webhook after repeated failures.
                        failed++;
                    }
                }
            }

            await store.ForgetPersonAsync(personId);
            Log.WebhooksForgotten(logger, deleted, failed);
        }
        catch (Exception e)
        {
            // Never thrown into the logout that told it; the periodic check forgets a person without a grant.
            Log.WebhooksForgetFailed(logger, e.GetType().Name);
        }
    }

    private async Task<Grant?> CurrentGrantAsync(string personId, CancellationToken cancellationToken)
    {
        var grant = await grants.ReadAsync(personId);
        if (grant is null || !grant.AccessTokenExpiresWithin(webexOptions.Value.RefreshBeforeExpiry, time.GetUtcNow()))
        {
            return grant;
        }

        var outcome = await refresher.RefreshAsync(personId, grant.AccessToken, RefreshTrigger.Expiry, cancellationToken);
        return outcome.Status switch
        {
            RefreshStatus.Refreshed => outcome.Grant ?? grant,
            RefreshStatus.LoginRequired => null,
            _ => grant,
        };
    }

    /// <summary>The person's webhook lock, waiting while another instance's reconcile holds it; null when it never came free.</summary>
    private async Task<RedisLock.Lease?> AcquireAsync(string personId, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (await locks.TryAcquireAsync(keys.WebhooksLock(personId), LeaseTime) is { } lease)
            {
                return lease;
            }

            if (Stopwatch.GetElapsedTime(started) > MaxLockWait)
            {
                return null;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    private void InBackground(Func<Task> work)
    {
        var task = Task.Run(work);
        _running.TryAdd(task, true);
        task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
