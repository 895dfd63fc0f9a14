using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;

namespace WebexGateway.Storage;

/// <summary>
/// The last value this instance read from Redis for each key, kept for <c>Redis:MemoryFallback</c>.
/// Never consulted while Redis answers; only when a read fails, so an outage does not sign everybody out.
/// </summary>
public sealed class MemoryFallback<T>(TimeProvider time, IOptions<RedisOptions> options) where T : class
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<string, (T Value, DateTimeOffset SeenAt)> _entries = new();
    private readonly TimeSpan _window = options.Value.MemoryFallback;

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
