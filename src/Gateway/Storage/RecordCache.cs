using ZiggyCreatures.Caching.Fusion;

namespace WebexGateway.Storage;

/// <summary>
/// Sessions and grants as this instance last decoded them, so a signed-in call costs no Redis round trip and no
/// decryption. Redis stays the store of record: every write goes there first, then here, and every other instance
/// hears of it over the backplane (a delete removes their copy, a write marks it stale). What an instance may have
/// missed while its subscription was down is bounded by <c>Redis:CacheLifetime</c>, and the whole cache is marked stale
/// when the subscription comes back. While Redis is down, what is cached is served for up to <c>Redis:MemoryFallback</c>.
/// </summary>
public sealed class RecordCache(IFusionCache cache)
{
    // Published before the caller goes on, so that a client whose logout or refresh was answered finds the other instances told.
    private readonly FusionCacheEntryOptions _tellOtherInstances = cache.CreateEntryOptions(options =>
    {
        options.SkipBackplaneNotifications = false;
        options.AllowBackgroundBackplaneOperations = false;
    });

    /// <summary>
    /// The cached record, or what <paramref name="read"/> finds in Redis (null included) when there is none yet. The
    /// state is what <paramref name="read"/> needs, so that a call answered from memory allocates no closure.
    /// </summary>
    public ValueTask<T?> GetOrReadAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, Task<T?>> read,
        CancellationToken cancellationToken = default)
        where T : class
    {
        // A plain look-up first: FusionCache's GetOrSet allocates its factory's closures even when it answers from memory.
        // An entry it would not serve as it is (missing, expired, or marked stale by another instance) goes to GetOrSet,
        // which reads it again under its lock, or serves it in fail-safe while Redis cannot answer.
        var cached = cache.TryGetAsync<T?>(key, token: cancellationToken);
        if (!cached.IsCompletedSuccessfully)
        {
            return AwaitedAsync(cached, key, state, read, cancellationToken);
        }

        var found = cached.Result;
        return found.HasValue ? ValueTask.FromResult(found.Value) : ReadAsync(key, state, read, cancellationToken);
    }

    private async ValueTask<T?> AwaitedAsync<TState, T>(ValueTask<MaybeValue<T?>> cached, string key, TState state,
        Func<TState, CancellationToken, Task<T?>> read, CancellationToken cancellationToken)
        where T : class
    {
        var found = await cached;
        return found.HasValue ? found.Value : await ReadAsync(key, state, read, cancellationToken);
    }

    private ValueTask<T?> ReadAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, Task<T?>> read,
        CancellationToken cancellationToken)
        where T : class
        => cache.GetOrSetAsync<T?>(key, (_, cancel) => read(state, cancel), token: cancellationToken);

    /// <summary>What this instance just read from Redis itself: kept here, the others are not told.</summary>
    public ValueTask KeepAsync<T>(string key, T? value)
        where T : class
        => cache.SetAsync(key, value);

    /// <summary>A record just written to Redis: kept here; the other instances drop their copy and read it again.</summary>
    public ValueTask WrittenAsync<T>(string key, T value)
        where T : class
        => cache.SetAsync(key, value, _tellOtherInstances);

    /// <summary>A record just deleted from Redis: gone here and on every other instance.</summary>
    public ValueTask DeletedAsync(string key) => cache.RemoveAsync(key, _tellOtherInstances);
}
