using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;
using WebexGateway.Storage;

namespace WebexGateway.Telemetry;

/// <summary>
/// The gateway's own meter. Every name here is documented in the README ("Operating the gateway");
/// Prometheus sees them with dots as underscores, counters ending in <c>_total</c>, durations in <c>_seconds</c>.
/// </summary>
public sealed class GatewayMetrics
{
    private readonly Counter<long> _signIns;
    private readonly Counter<long> _refreshes;
    private readonly Histogram<double> _refreshDuration;
    private readonly Counter<long> _replays;
    private readonly Counter<long> _lockWaits;
    private readonly Histogram<double> _lockWaitDuration;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _upstreamResponses;
    private readonly Counter<long> _redisErrors;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _webhooksReceived;
    private readonly Counter<long> _webhookCalls;
    private readonly Counter<long> _eventsDelivered;
    private readonly Histogram<double> _eventDeliveryDuration;
    private long _eventStreams;

    public GatewayMetrics(IMeterFactory meters, IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time)
    {
        var meter = meters.Create(GatewayTelemetry.SourceName);
        _signIns = meter.CreateCounter<long>("webex_gateway.sign_ins", description: "Sign-ins by outcome.");
        _refreshes = meter.CreateCounter<long>("webex_gateway.token_refreshes", description: "Token refreshes asked for, by trigger and outcome.");
        _refreshDuration = meter.CreateHistogram<double>("webex_gateway.token_refresh.duration", "s", "How long a refresh took, waiting included.");
        _replays = meter.CreateCounter<long>("webex_gateway.replays", description: "Requests Webex answered 401, by what the replay did.");
        _lockWaits = meter.CreateCounter<long>("webex_gateway.lock_waits", description: "Refreshes that waited for another instance's lock.");
        _lockWaitDuration = meter.CreateHistogram<double>("webex_gateway.lock_wait.duration", "s", "How long a refresh waited for another instance's lock.");
        _rejected = meter.CreateCounter<long>("webex_gateway.requests_rejected", description: "Requests the gateway refused itself, by reason.");
        _upstreamResponses = meter.CreateCounter<long>("webex_gateway.upstream_responses", description: "Webex answers to proxied calls, by status class.");
        _redisErrors = meter.CreateCounter<long>("webex_gateway.redis_errors", description: "Redis operations that failed, by operation.");
        _rateLimited = meter.CreateCounter<long>("webex_gateway.rate_limited", description: "Webex calls answered 429, by whose limit: webex (Webex's own 429 or a cool-down after one) or gateway (the per-person limit).");
        _webhooksReceived = meter.CreateCounter<long>("webex_gateway.webhooks_received", description: "Webex webhook deliveries to POST /webhooks/webex, by outcome.");
        _webhookCalls = meter.CreateCounter<long>("webex_gateway.webhook_calls", description: "Calls to Webex's /v1/webhooks by the webhook lifecycle, by operation and outcome.");
        _eventsDelivered = meter.CreateCounter<long>("webex_gateway.events_delivered", description: "Events written on a browser's event stream.");
        _eventDeliveryDuration = meter.CreateHistogram<double>("webex_gateway.event_delivery.duration", "s", "From the webhook's receipt to the event written on a stream.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 15, 60] });
        meter.CreateObservableGauge("webex_gateway.event_streams", () => Volatile.Read(ref _eventStreams), description: "Event streams open on this instance.");
        meter.CreateObservableGauge("webex_gateway.cool_downs", () => CountCoolDowns(redis, keys, time), description: "Cool-downs after a Webex 429 in force, over all instances.");
        meter.CreateObservableGauge("webex_gateway.ready", () => redis.IsConnected ? 1 : 0, description: "1 while Redis is connected.");
        meter.CreateObservableGauge("webex_gateway.grants", () => CountGrants(redis, keys, time), description: "Grants stored.");
    }

    public void SignIn(string outcome) => _signIns.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Refresh(string trigger, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "trigger", trigger }, { "outcome", outcome } };
        _refreshes.Add(1, tags);
        _refreshDuration.Record(duration.TotalSeconds, tags);
    }

    public void Replay(string outcome) => _replays.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void LockWait(TimeSpan duration)
    {
        _lockWaits.Add(1);
        _lockWaitDuration.Record(duration.TotalSeconds);
    }

    public void Rejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    private static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    public void UpstreamResponse(int? statusCode) => _upstreamResponses.Add(1, new KeyValuePair<string, object?>(
        "status_class", statusCode is { } code and >= 100 and < 600 ? StatusClasses[(code / 100) - 1] : "error"));

    public void RateLimited(string source) => _rateLimited.Add(1, new KeyValuePair<string, object?>("source", source));

    /// <summary>delivered, duplicate, bad_signature, unknown, refused (too large, not JSON, not the webhook's pair) or unavailable.</summary>
    public void WebhookReceived(string outcome) => _webhooksReceived.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary><paramref name="operation"/>: create, list, update, delete; <paramref name="outcome"/>: success, unauthorized, failed, error.</summary>
    public void WebhookCall(string operation, string outcome)
        => _webhookCalls.Add(1, new TagList { { "operation", operation }, { "outcome", outcome } });

    /// <param name="sinceReceipt">From the webhook's receipt; null when the event does not say when it was received.</param>
    public void EventDelivered(TimeSpan? sinceReceipt)
    {
        _eventsDelivered.Add(1);
        if (sinceReceipt is { } duration)
        {
            _eventDeliveryDuration.Record(Math.Max(0, duration.TotalSeconds));
        }
    }

    public void EventStreamOpened() => Interlocked.Increment(ref _eventStreams);

    public void EventStreamClosed() => Interlocked.Decrement(ref _eventStreams);

    public void RedisError(string operation) => _redisErrors.Add(1, new KeyValuePair<string, object?>("operation", operation));

    /// <summary>A stable pseudonym of a Webex person id for traces: the same person, never their id, email or token.</summary>
    public static string UserPseudonym(string personId)
        => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("webex-gateway:" + personId)))[..16];

    /// <summary>The index entries whose refresh token has not expired: an expired grant's key is gone with it.</summary>
    private static IEnumerable<Measurement<long>> CountGrants(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time)
    {
        if (!redis.IsConnected)
        {
            return [];
        }

        try
        {
            var live = redis.GetDatabase().SortedSetLength(keys.GrantsByRefreshExpiry, time.GetUtcNow().ToUnixTimeSeconds(), double.PositiveInfinity, Exclude.Start);
            return [new Measurement<long>(live)];
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            return [];
        }
    }

    private static IEnumerable<Measurement<long>> CountCoolDowns(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time)
    {
        if (!redis.IsConnected)
        {
            return [];
        }

        try
        {
            var inForce = redis.GetDatabase().SortedSetLength(keys.CoolDownsByExpiry, time.GetUtcNow().ToUnixTimeMilliseconds(), double.PositiveInfinity, Exclude.Start);
            return [new Measurement<long>(inForce)];
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            return [];
        }
    }
}
