using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Limits;

/// <summary>
/// Webex's 429s remembered per caller (a person, or a bot, whose token Webex counts) and Webex resource
/// (<c>v1/messages</c>), until their <c>Retry-After</c>. Each instance keeps the cool-downs in force in memory, so a call
/// asks nothing of Redis, and nothing is kept for the callers that are not cooling down (nearly all of them). A recorded
/// cool-down goes to Redis (an index by expiry, <c>cooldowns:by-expiry</c>) and is announced on the cool-downs channel, so
/// the other instances apply it at once; what an instance missed (a lost announcement, a subscription that was down) it
/// reads from the index every <c>Redis:CacheLifetime</c>, and at once when its subscription comes back. When Redis cannot
/// answer, calls go through: Webex still has the last word.
/// </summary>
public sealed class CoolDowns : BackgroundService
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _inForce = new(StringComparer.Ordinal);
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly RateLimitOptions _options;
    private readonly TimeSpan _reconcileEvery;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger<CoolDowns> _logger;
    private int _subscribed;

    public CoolDowns(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time, IOptions<RateLimitOptions> options,
        IOptions<RedisOptions> store, GatewayMetrics metrics, ILogger<CoolDowns> logger)
    {
        _redis = redis;
        _keys = keys;
        _time = time;
        _options = options.Value;
        _reconcileEvery = store.Value.CacheLifetime;
        _metrics = metrics;
        _logger = logger;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>How long the caller must still wait before calling the resource, or null when it need not.</summary>
    public TimeSpan? Remaining(string caller, string resource)
    {
        if (_inForce.IsEmpty || !_inForce.TryGetValue(Member(caller, resource), out var until))
        {
            return null;
        }

        var remaining = until - _time.GetUtcNow();
        return remaining > TimeSpan.Zero ? remaining : null;
    }

    /// <summary>Webex answered 429 with this <c>Retry-After</c> (seconds or an HTTP date; absent means the default).</summary>
    public async Task RecordAsync(string caller, string resource, string? retryAfter)
    {
        var now = _time.GetUtcNow();
        var until = now + RetryAfterOf(retryAfter, now);
        var member = Member(caller, resource);
        // Kept here first: this instance at least stops sending the calls Webex refuses, whatever Redis answers.
        Apply(member, until);
        try
        {
            var db = _redis.GetDatabase();
            var batch = db.CreateBatch();
            var indexed = batch.SortedSetAddAsync(_keys.CoolDownsByExpiry, member, until.ToUnixTimeMilliseconds());
            var pruned = batch.SortedSetRemoveRangeByScoreAsync(_keys.CoolDownsByExpiry, double.NegativeInfinity, now.ToUnixTimeMilliseconds());
            batch.Execute();
            await Task.WhenAll(indexed, pruned);
            await db.PublishAsync(_keys.CoolDownChannel, Announcement(member, until));
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            _metrics.RedisError("write_cooldown");
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_reconcileEvery, _time);
        do
        {
            try
            {
                await SubscribeAsync();
                await ReconcileAsync();
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException)
            {
                Log.CoolDownsUnread(_logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override void Dispose()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        base.Dispose();
    }

    /// <summary>The index's member, and this instance's key, for a caller's cool-down on a resource.</summary>
    private static string Member(string caller, string resource) => string.Concat(caller, ":", resource);

    private static RedisValue Announcement(string member, DateTimeOffset until) =>
        string.Concat(until.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), " ", member);

    private async Task SubscribeAsync()
    {
        if (Volatile.Read(ref _subscribed) == 1)
        {
            return;
        }

        var queue = await _redis.GetSubscriber().SubscribeAsync(_keys.CoolDownChannel);
        queue.OnMessage(message =>
        {
            var text = (string?)message.Message ?? "";
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && long.TryParse(text.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var until))
            {
                Apply(text[(space + 1)..], DateTimeOffset.FromUnixTimeMilliseconds(until));
            }
        });
        Volatile.Write(ref _subscribed, 1);
    }

    /// <summary>Every cool-down in force over all instances, from the index: what announcements may have missed.</summary>
    private async Task ReconcileAsync()
    {
        var now = _time.GetUtcNow();
        var entries = await _redis.GetDatabase().SortedSetRangeByScoreWithScoresAsync(
            _keys.CoolDownsByExpiry, now.ToUnixTimeMilliseconds(), double.PositiveInfinity, Exclude.Start);
        foreach (var entry in entries)
        {
            Apply(entry.Element!, DateTimeOffset.FromUnixTimeMilliseconds((long)entry.Score));
        }

        foreach (var (member, until) in _inForce)
        {
            if (until <= now)
            {
                _inForce.TryRemove(KeyValuePair.Create(member, until));
            }
        }
    }

    /// <summary>A cool-down heard of: the later end wins, so an announcement and the index agree in any order.</summary>
    private void Apply(string member, DateTimeOffset until)
    {
        if (until <= _time.GetUtcNow())
        {
            return;
        }

        _inForce.AddOrUpdate(member, static (_, heard) => heard, static (_, known, heard) => heard > known ? heard : known, until);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            // What was announced while the subscription was down is lost: the index has it.
            _ = Task.Run(async () =>
            {
                try
                {
                    await ReconcileAsync();
                }
                catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
                {
                    Log.CoolDownsUnread(_logger, ex.GetType().Name);
                }
            });
        }
    }
}
