using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;

namespace WebexGateway.Storage;

/// <summary>Every key the gateway writes, each under <c>Redis:KeyPrefix</c>.</summary>
public sealed class RedisKeys(IOptions<RedisOptions> options)
{
    private readonly string _prefix = options.Value.KeyPrefix;

    public string Prefix => _prefix;

    public RedisKey Grant(string personId) => $"{_prefix}grant:{personId}";

    /// <summary>A sorted set: person ids scored by when their refresh token expires.</summary>
    public RedisKey GrantsByRefreshExpiry => $"{_prefix}grants:by-refresh-expiry";

    public RedisKey KeepAliveRun => $"{_prefix}keep-alive:last-run";

    public RedisKey Session(string sessionId) => $"{_prefix}session:{sessionId}";

    /// <summary>A set: the ids of a person's sessions, so a logout can end them all.</summary>
    public RedisKey SessionsOf(string personId) => $"{_prefix}sessions:by-person:{personId}";

    public RedisKey RefreshLock(string personId) => $"{_prefix}lock:refresh:{personId}";

    public RedisKey UsedState(string stateHash) => $"{_prefix}oauth-state:{stateHash}";

    /// <summary>Webex answered a caller's call to a resource (<c>v1/messages</c>) 429: expires with its Retry-After.</summary>

    /// <summary>A sorted set: the cool-downs (<c>caller:resource</c>) scored by when they end, for the gauge.</summary>
    public RedisKey CoolDownsByExpiry => $"{_prefix}cooldowns:by-expiry";

    /// <summary>The partition of a person's shared per-minute limit (RedisRateLimiting names its keys after it).</summary>
    public string RateLimitPartition(string personId) => $"{_prefix}rate:{personId}";

    public RedisKey DataProtectionKeys => $"{_prefix}data-protection-keys";

    /// <summary>A Webex webhook the gateway made: its person, its secret and its pair, encrypted for the webhook's id.</summary>
    public RedisKey Webhook(string webhookId) => $"{_prefix}webhook:{webhookId}";

    /// <summary>A set: the ids of the webhooks the gateway made for a person.</summary>
    public RedisKey WebhooksOf(string personId) => $"{_prefix}webhooks:by-person:{personId}";

    /// <summary>A set: the people the gateway made webhooks for, for the periodic check.</summary>
    public RedisKey WebhookPeople => $"{_prefix}webhooks:people";

    public RedisKey WebhooksLock(string personId) => $"{_prefix}lock:webhooks:{personId}";

    public RedisKey WebhookCheckRun => $"{_prefix}webhooks:check:last-run";

    // A person's event keys share one hash tag, so a script can touch them together on a cluster.
    public RedisKey EventLog(string personId) => $"{_prefix}events:{{{personId}}}:log";

    public RedisKey EventSequence(string personId) => $"{_prefix}events:{{{personId}}}:position";

    public RedisKey EventSeen(string personId, string eventId) => $"{_prefix}events:{{{personId}}}:seen:{eventId}";

    /// <summary>A sorted set: the person's open event streams over all instances, scored by when each one's slot lapses.</summary>
    public RedisKey EventStreams(string personId) => $"{_prefix}events:{{{personId}}}:streams";

    /// <summary>The channel every instance hears appended events (and ended grants) on.</summary>
    public RedisChannel EventChannel => RedisChannel.Literal($"{_prefix}events");

    /// <summary>Where a recorded cool-down is announced to the other instances (<see cref="Limits.CoolDowns"/>).</summary>
    public RedisChannel CoolDownChannel => RedisChannel.Literal($"{_prefix}cooldowns");
}
