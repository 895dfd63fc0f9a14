using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Limits;

/// <summary>Until when a caller's calls to one Webex resource are not sent, because Webex answered 429.</summary>
public sealed record CoolDown(DateTimeOffset Until);

/// <summary>
/// Webex's 429s remembered per caller (a person, or a bot, whose token Webex counts) and Webex resource
/// (<c>v1/messages</c>), until their <c>Retry-After</c>: in Redis (<c>cooldown:&lt;caller&gt;:&lt;resource&gt;</c>, expiring
/// with it) and in the record cache, so a call asks no Redis while its answer is cached. A cool-down just recorded is
/// announced over the backplane, so the other instances read it again at once; a lost announcement is bounded by
/// <c>Redis:CacheLifetime</c>, as for sessions and grants. When Redis cannot answer, calls go through: Webex still
/// has the last word.
/// </summary>
public sealed class CoolDowns(
    RecordCache cache,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    TimeProvider time,
    IOptions<RateLimitOptions> options,
    GatewayMetrics metrics)
{
    private readonly RateLimitOptions _options = options.Value;

    /// <summary>How long the caller must still wait before calling the resource, or null when it need not.</summary>
    public async ValueTask<TimeSpan?> RemainingAsync(string caller, string resource, CancellationToken cancellationToken)
    {
        var coolDown = await cache.GetOrReadAsync(CacheKey(caller, resource), (CoolDowns: this, Caller: caller, Resource: resource),
            static (state, _) => state.CoolDowns.ReadAsync(state.Caller, state.Resource), cancellationToken);
        var remaining = coolDown is null ? TimeSpan.Zero : coolDown.Until - time.GetUtcNow();
        return remaining > TimeSpan.Zero ? remaining : null;
    }

    /// <summary>Webex answered 429 with this <c>Retry-After</c> (seconds or an HTTP date; absent means the default).</summary>
    public async Task RecordAsync(string caller, string resource, string? retryAfter)
    {
        var now = time.GetUtcNow();
        var wait = RetryAfterOf(retryAfter, now);
        var coolDown = new CoolDown(now + wait);
        try
        {
            var key = keys.CoolDown(caller, resource);
            var batch = redis.GetDatabase().CreateBatch();
            var set = batch.StringSetAsync(key, coolDown.Until.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), wait);
            var indexed = batch.SortedSetAddAsync(keys.CoolDownsByExpiry, caller + ":" + resource, coolDown.Until.ToUnixTimeSeconds());
            var pruned = batch.SortedSetRemoveRangeByScoreAsync(keys.CoolDownsByExpiry, double.NegativeInfinity, now.ToUnixTimeSeconds());
            batch.Execute();
            await Task.WhenAll(set, indexed, pruned);
            await cache.WrittenAsync(CacheKey(caller, resource), coolDown);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Not shared, but kept here: this instance at least stops sending the calls Webex refuses.
            metrics.RedisError("write_cooldown");
            await cache.KeepAsync(CacheKey(caller, resource), coolDown);
        }
    }

    /// <summary>Seconds (<c>120</c>) or an HTTP date, within one second and <c>Gateway:RateLimit:MaxRetryAfter</c>.</summary>
    public TimeSpan RetryAfterOf(string? retryAfter, DateTimeOffset now)
    {
        TimeSpan? wait = null;
        if (long.TryParse(retryAfter, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            wait = TimeSpan.FromSeconds(Math.Min(seconds, (long)_options.MaxRetryAfter.TotalSeconds));
        }
        else if (DateTimeOffset.TryParseExact(retryAfter, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            wait = date - now;
        }

        if (wait is null)
        {
            return _options.DefaultRetryAfter;
        }

        return wait.Value < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1)
            : wait.Value > _options.MaxRetryAfter ? _options.MaxRetryAfter
            : wait.Value;
    }

    /// <summary>Past this many resources, keys are made for each call: a caller can name any path.</summary>
    private const int MaxKeyedResources = 1_000;

    // One table of keys per resource, each keyed by the caller's id (the same string on every call while its grant is cached).
    private static readonly ConcurrentDictionary<string, CacheKeys> KeysByResource = new(StringComparer.Ordinal);

    private static string CacheKey(string caller, string resource)
    {
        if (!KeysByResource.TryGetValue(resource, out var keys))
        {
            if (KeysByResource.Count >= MaxKeyedResources)
            {
                return "cooldown:" + caller + ":" + resource;
            }

            keys = KeysByResource.GetOrAdd(resource, static resource => new CacheKeys("cooldown:", ":" + resource));
        }

        return keys.Of(caller);
    }

    private async Task<CoolDown?> ReadAsync(string caller, string resource)
    {
        try
        {
            var value = await redis.GetDatabase().StringGetAsync(keys.CoolDown(caller, resource));
            return long.TryParse((string?)value, NumberStyles.None, CultureInfo.InvariantCulture, out var until)
                ? new CoolDown(DateTimeOffset.FromUnixTimeMilliseconds(until))
                : null;
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            metrics.RedisError("read_cooldown");
            return null;
        }
    }
}
