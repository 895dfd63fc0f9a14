using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using RedisRateLimiting;
using StackExchange.Redis;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Limits;

/// <summary>
/// <c>Gateway:RateLimit:PermitsPerMinute</c> per person, over all instances: ASP.NET Core's partitioned rate limiter,
/// one partition per person, each a <see cref="LeasedPermits"/> over RedisRateLimiting's fixed window. Permits are
/// leased from Redis in batches, so a busy person's calls cost a Redis round trip only once per batch.
/// </summary>
public sealed class PersonQuota : IAsyncDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;

    public PersonQuota(IOptions<RateLimitOptions> options, IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time, GatewayMetrics metrics)
    {
        var permits = options.Value.PermitsPerMinute;
        if (permits == 0)
        {
            return;
        }

        // At most 2% of the limit, and at most 100, may go unused in a window per instance: the price of fewer round trips.
        var batch = Math.Clamp(permits / 50, 1, 100);
        var shared = new RedisFixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = TimeSpan.FromMinutes(1),
            ConnectionMultiplexerFactory = () => redis,
        };
        _limiter = PartitionedRateLimiter.Create<string, string>(person => RateLimitPartition.Get(person, p =>
            new LeasedPermits(new RedisFixedWindowRateLimiter<string>(keys.RateLimitPartition(p), shared), batch, time, metrics)));
    }

    public bool IsOn => _limiter is not null;

    /// <summary>Null when the person may call now, else how long until the next window.</summary>
    public async ValueTask<TimeSpan?> AcquireAsync(string personId, CancellationToken cancellationToken)
    {
        if (_limiter is null)
        {
            return null;
        }

        using var lease = await _limiter.AcquireAsync(personId, 1, cancellationToken);
        if (lease.IsAcquired)
        {
            return null;
        }

        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
    }

    public ValueTask DisposeAsync() => _limiter?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>
/// One person's permits on this instance: spent locally until the batch leased from the shared window runs out or the
/// window ends, then a new batch is leased (or a single permit, when fewer than a batch remain). When Redis cannot
/// answer, the call goes through: the limit protects a quota, and Webex still enforces its own.
/// </summary>
internal sealed class LeasedPermits(RateLimiter shared, int batch, TimeProvider time, GatewayMetrics metrics) : RateLimiter
{
    private static readonly RateLimitLease Granted = new Lease(true, null);
    private static readonly RateLimitLease Refused = new Lease(false, null);

    private readonly Lock _gate = new();
    private int _local;
    private DateTimeOffset _localUntil;
    private long _lastUsed = time.GetTimestamp();

    public override TimeSpan? IdleDuration => time.GetElapsedTime(Volatile.Read(ref _lastUsed));

    public override RateLimiterStatistics? GetStatistics() => new() { CurrentAvailablePermits = _local };

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => TryTakeLocal(permitCount) ? Granted : Refused;

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
        => TryTakeLocal(permitCount) ? ValueTask.FromResult(Granted) : LeaseAsync(permitCount, cancellationToken);

    private bool TryTakeLocal(int permitCount)
    {
        Volatile.Write(ref _lastUsed, time.GetTimestamp());
        lock (_gate)
        {
            if (_local >= permitCount && time.GetUtcNow() < _localUntil)
            {
                _local -= permitCount;
                return true;
            }

            return false;
        }
    }

    private async ValueTask<RateLimitLease> LeaseAsync(int permitCount, CancellationToken cancellationToken)
    {
        try
        {
            var leased = Math.Max(batch, permitCount);
            var lease = await shared.AcquireAsync(leased, cancellationToken);
            if (!lease.IsAcquired && leased > permitCount)
            {
                lease.Dispose();
                leased = permitCount;
                lease = await shared.AcquireAsync(leased, cancellationToken);
            }

            using (lease)
            {
                if (!lease.IsAcquired)
                {
                    return new Lease(false, SecondsOf(lease, RateLimitMetadataName.RetryAfter.Name));
                }

                if (SecondsOf(lease, RateLimitMetadataName.Reset.Name) is { } reset && leased > permitCount)
                {
                    lock (_gate)
                    {
                        var windowEnd = DateTimeOffset.FromUnixTimeSeconds((long)reset.TotalSeconds);
                        _local = windowEnd == _localUntil ? _local + leased - permitCount : leased - permitCount;
                        _localUntil = windowEnd;
                    }
                }

                return Granted;
            }
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            metrics.RedisError("rate_limit");
            return Granted;
        }
    }

    /// <summary>RedisRateLimiting gives Retry-After as whole seconds and Reset as Unix seconds, boxed as numbers.</summary>
    private static TimeSpan? SecondsOf(RateLimitLease lease, string name) =>
        lease.TryGetMetadata(name, out var value) ? value switch
        {
            TimeSpan span => span,
            int seconds => TimeSpan.FromSeconds(seconds),
            long seconds => TimeSpan.FromSeconds(seconds),
            _ => null,
        } : null;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            shared.Dispose();
        }
    }

    private sealed class Lease(bool isAcquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => isAcquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
