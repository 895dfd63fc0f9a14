using System.Security.Cryptography;
using ZiggyCreatures.Caching.Fusion;

namespace WebexGateway.Storage;

/// <summary>
/// Sessions and grants as this instance last decoded them, so a signed-in call costs no Redis round trip and no
/// decryption. Redis stays the store of record: every write goes there first, then here, and every other instance
/// hears of it over the backplane (a delete removes their copy, a write marks it stale). What an instance may have
/// missed while it did not hear the backplane is bounded by <c>Redis:CacheLifetime</c> (<see cref="SubscriptionWatch"/>).
/// While Redis is down, what is cached is served for up to <c>Redis:MemoryFallback</c>.
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
    /// The cached record, or what <paramref name="records"/> holds for <paramref name="id"/> (null included) when there is
    /// none yet.
    /// </summary>
    public ValueTask<T?> GetOrReadAsync<T>(string key, string id, IStoredRecords<T> records, CancellationToken cancellationToken = default)
        where T : class
    {
        // A plain look-up first, and a synchronous one: the cache has no distributed level, so there is nothing to await,
        // and FusionCache's GetOrSet allocates its factory's closures even when it answers from memory. An entry it would
        // not serve as it is (missing, expired, or marked stale by another instance) goes to GetOrSet, which reads it again
        // under its lock, or serves it in fail-safe while Redis cannot answer.
        var found = cache.TryGet<T?>(key, token: cancellationToken);
        return found.HasValue ? ValueTask.FromResult(found.Value) : ReadAsync(key, id, records, cancellationToken);
    }

    /// <summary>
    /// Reads the stored bytes again, and decodes them only when they differ from those of the record this instance has
    /// (a conditional refresh, the stored bytes' hash its ETag): every entry is read again when its lifetime ends or the
    /// whole cache is marked stale, and most have not changed, so decrypting and deserializing them again would only make new copies of what is cached.
    /// </summary>
    private ValueTask<T?> ReadAsync<T>(string key, string id, IStoredRecords<T> records, CancellationToken cancellationToken)
        where T : class
        => cache.GetOrSetAsync<T?>(key, async (context, _) =>
        {
            var stored = await records.FetchAsync(id);
            if (stored.IsNullOrEmpty)
            {
                return null;
            }

            var bytes = (byte[])stored!;
            var fingerprint = Convert.ToBase64String(SHA256.HashData(bytes));
            if (context is { HasStaleValue: true, StaleValue.Value: not null } && context.ETag == fingerprint)
            {
                return context.NotModified();
            }

            return context.Modified(await records.DecodeAsync(id, bytes), fingerprint);
        }, token: cancellationToken);

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
