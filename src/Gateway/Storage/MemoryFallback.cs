using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Telemetry;

namespace WebexGateway.Storage;

/// <summary>
/// The last value this instance read from Redis for each key, kept for <c>Redis:MemoryFallback</c>.
/// Never consulted while Redis answers; only when a read fails, so an outage does not sign everybody out.
/// </summary>
public sealed class MemoryFallback<T>(TimeProvider time, IOptions<RedisOptions> options, GatewayMetrics metrics, ILogger<MemoryFallback<T>> logger)
    where T : class
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<string, (T Value, DateTimeOffset SeenAt)> _entries = new();
    private readonly TimeSpan _window = options.Value.MemoryFallback;

    /// <summary>
    /// Reads one record of a <paramref name="kind"/> (session, grant): what Redis holds, decoded and remembered; nothing
    /// when Redis holds nothing; when Redis cannot be read, the remembered value if <paramref name="usableInOutage"/>
    /// agrees, else the Redis error.
    /// </summary>
    public async Task<T?> ReadAsync(string kind, string key, Func<Task<RedisValue>> read, Func<RedisValue, T?> decode,
        Func<T, bool>? usableInOutage = null)
    {
        RedisValue value;
        try
        {
            value = await read();
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            metrics.RedisError($"read_{kind}");
            if (Recall(key) is { } remembered && (usableInOutage?.Invoke(remembered) ?? true))
            {
                Log.ServedFromMemory(logger, kind, e.GetType().Name);
                return remembered;
            }

            throw;
        }

        if (value.IsNullOrEmpty)
        {
            Forget(key);
            return null;
        }

        var decoded = decode(value);
        if (decoded is not null)
        {
            Remember(key, decoded);
        }

        return decoded;
    }

    /// <summary>Forgets a record on every instance's word that it was deleted (see <see cref="StoreInvalidation"/>).</summary>
    public void FollowDeletions(StoreInvalidation invalidation, string kind)
        => invalidation.Invalidated += (deletedKind, key) =>
        {
            if (deletedKind == kind)
            {
                Forget(key);
            }
        };

    public void Remember(string key, T value)
    {
        if (_window <= TimeSpan.Zero)
        {
            return;
        }

        _entries[key] = (value, time.GetUtcNow());
        if (_entries.Count > PruneAbove)
        {
            var oldest = time.GetUtcNow() - _window;
            foreach (var (staleKey, entry) in _entries)
            {
                if (entry.SeenAt < oldest)
                {
                    _entries.TryRemove(staleKey, out _);
                }
            }
        }
    }

    public void Forget(string key) => _entries.TryRemove(key, out _);

    public T? Recall(string key)
        => _entries.TryGetValue(key, out var entry) && entry.SeenAt + _window > time.GetUtcNow() ? entry.Value : null;
}
