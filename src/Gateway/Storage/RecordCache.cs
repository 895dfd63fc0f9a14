using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane;

namespace WebexGateway.Storage;

/// <summary>
/// Sessions and grants as this instance last decoded them, so a signed-in call costs no Redis round trip and no
/// decryption. Redis stays the store of record: every write goes there first, then here, and every other instance
/// hears of it over the backplane (a delete removes their copy, a write marks it stale). What an instance may have
/// missed while it did not hear the backplane is bounded by <c>Redis:CacheLifetime</c> (<see cref="SubscriptionWatch"/>).
/// While Redis is down, what is cached is served for up to <c>Redis:MemoryFallback</c>.
/// </summary>
/// <remarks>
/// A reading that Redis answered before a write or delete elsewhere, and that is kept here after that write's announcement
/// was handled, would keep the old record until it is read again. Every announcement (and every time the whole cache is
/// marked stale) counts in <see cref="_announcements"/> before it takes effect, and a reading kept while the count moved is
/// not trusted: it is marked stale at once and read again. An announced write also marks the entry stale whatever its
/// time: FusionCache ignores one older than the entry, and a background reading kept just before the announcement
/// arrived is newer (GetOrSet dates its entry from before the reading, so FusionCache judges that one right).
/// Every change to an entry (write, delete, reading kept again, announcement) counts in its key's version after it took
/// effect, and marking the whole cache stale counts in <see cref="_epoch"/>: a <see cref="RecordStamp"/> compares the two
/// with what they were before the record was found, which is how a caller can hold on to a record without asking the
/// cache again (<see cref="GetOrReadStampedAsync"/>).
/// </remarks>
public sealed class RecordCache
{
    /// <summary>Readings made while announcements keep coming are tried this many times, then served as read.</summary>
    private const int Readings = 3;

    /// <summary>Past this many keys' versions, they start over (and the epoch moves, so no stamp outlives them).</summary>
    private const int VersionCapacity = 200_000;

    private readonly IFusionCache _cache;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;

    /// <summary>The prefix of FusionCache's own keys (tagging, Clear): its announcements are FusionCache's to act on.</summary>
    private static readonly string InternalKeyPrefix = new FusionCacheOptions().InternalStrings.TagCacheKeyPrefix;

    // Published before the caller goes on, so that a client whose logout or refresh was answered finds the other instances told.
    private readonly FusionCacheEntryOptions _tellOtherInstances;

    // What this instance may have missed is its own: a Clear without it would be published (FusionCache's tagging options).
    private readonly FusionCacheEntryOptions _thisInstanceOnly;
    private readonly ConcurrentDictionary<string, RecordStamp.Counter> _versions = new(StringComparer.Ordinal);
    private readonly RecordStamp.Counter _epoch = new();
    private long _announcements;

    public RecordCache(IFusionCache cache, IOptions<RedisOptions> options, TimeProvider time)
    {
        _cache = cache;
        _time = time;
        _lifetime = options.Value.SubscribedCacheLifetime;

        // Runs before FusionCache acts on the message (FusionCacheOptions.EnableSyncEventHandlersExecution).
        cache.Events.Backplane.MessageReceived += (_, e) => Announced(e.Message);
        _tellOtherInstances = cache.CreateEntryOptions(entry =>
        {
            entry.SkipBackplaneNotifications = false;
            entry.AllowBackgroundBackplaneOperations = false;
        });
        _thisInstanceOnly = cache.CreateEntryOptions(entry => entry.SkipBackplaneNotifications = true);
    }

    /// <summary>
    /// The cached record, or what <paramref name="records"/> holds for <paramref name="id"/> (null included) when there is
    /// none yet.
    /// </summary>
    /// <remarks>
    /// An entry the cache would not serve (missing, past its lifetime, or marked stale by an announcement or
    /// <see cref="SubscriptionWatch"/>) is read before it is served.
    /// </remarks>
    public ValueTask<T?> GetOrReadAsync<T>(string key, string id, IStoredRecords<T> records, CancellationToken cancellationToken = default)
        where T : class
        => Cached<T>(key) is { } held ? ValueTask.FromResult(Served(key, id, records, held).Value) : ReadAsync(key, id, records, cancellationToken);

    /// <summary>
    /// As <see cref="GetOrReadAsync{T}"/>, with a stamp that tells, without asking the cache again, whether the record is
    /// still the one cached. A record that had to be read first, or that is due to be read again, comes with a stamp that
    /// holds for nothing: only a record the cache served as it was is worth holding on to.
    /// </summary>
    public async ValueTask<Stamped<T>> GetOrReadStampedAsync<T>(string key, string id, IStoredRecords<T> records,
        CancellationToken cancellationToken = default)
        where T : class
    {
        // Read before the record: a change made after this is counted after it too.
        var epoch = Volatile.Read(ref _epoch.Value);
        var version = VersionOf(key);
        var seen = Volatile.Read(ref version.Value);
        if (Cached<T>(key) is not { } held)
        {
            return new Stamped<T>(await ReadAsync(key, id, records, cancellationToken), RecordStamp.None);
        }

        Served(key, id, records, held);
        return new Stamped<T>(held.Value, new RecordStamp(version, seen, _epoch, epoch, held.ReadAgainAt));
    }

    private Held<T>? Cached<T>(string key)
        where T : class
        => _cache.TryGet<Held<T>>(key) is { HasValue: true } found ? found.Value : null;

    /// <summary>
    /// A plain look-up first, and a synchronous one: the cache has no distributed level, so there is nothing to await, and
    /// FusionCache's GetOrSet costs far more than a look-up even when it answers from memory. A record past the time to
    /// read it again is served as it is while one reading runs in the background, so no call waits on Redis for a record
    /// that has most likely not changed.
    /// </summary>
    private Held<T> Served<T>(string key, string id, IStoredRecords<T> records, Held<T> held)
        where T : class
    {
        if (_time.GetTimestamp() >= held.ReadAgainAt && Interlocked.Exchange(ref held.ReadingAgain, 1) == 0)
        {
            _ = ReadAgainAsync(key, id, records, held);
        }

        return held;
    }

    /// <summary>What this instance just read from Redis itself, and the bytes it decoded: kept here, the others are not told.</summary>
    public ValueTask KeepAsync<T>(string key, T? value, byte[]? stored)
        where T : class
        => ChangeAsync(key, _cache.SetAsync(key, Hold(value, stored)));

    /// <summary>A record just written to Redis as <paramref name="stored"/>: kept here; the other instances drop their copy.</summary>
    public ValueTask WrittenAsync<T>(string key, T value, byte[] stored)
        where T : class
        => ChangeAsync(key, _cache.SetAsync(key, Hold(value, stored), _tellOtherInstances));

    /// <summary>A record just deleted from Redis: gone here and on every other instance.</summary>
    public ValueTask DeletedAsync(string key) => ChangeAsync(key, _cache.RemoveAsync(key, _tellOtherInstances));

    /// <summary>
    /// Marks every record stale, to be read before it is served again (fail-safe keeps them for a Redis outage): what this
    /// instance may have missed is unknown.
    /// </summary>
    public async ValueTask MarkAllStaleAsync()
    {
        Interlocked.Increment(ref _announcements);
        try
        {
            await _cache.ClearAsync(allowFailSafe: true, _thisInstanceOnly);
        }
        finally
        {
            Interlocked.Increment(ref _epoch.Value);
        }
    }

    /// <summary>Read under FusionCache's lock for the key, or served in fail-safe while Redis cannot answer.</summary>
    private async ValueTask<T?> ReadAsync<T>(string key, string id, IStoredRecords<T> records, CancellationToken cancellationToken)
        where T : class
    {
        for (var reading = 1; ; reading++)
        {
            var heard = Volatile.Read(ref _announcements);
            var held = await _cache.GetOrSetAsync<Held<T>>(key, async (context, _) =>
                await ReadStoredAsync(id, records, context.HasStaleValue ? context.StaleValue.Value : null), token: cancellationToken);
            if (Volatile.Read(ref _announcements) == heard || reading == Readings)
            {
                return held.Value;
            }

            await ChangeAsync(key, _cache.ExpireAsync(key, token: cancellationToken));
        }
    }

    /// <summary>
    /// The background reading of a record past its time to be read again. Kept only if the entry is still the one it
    /// started from: a write, a delete or an announcement meanwhile wins. A failed reading leaves the entry as it is, to
    /// be read before it is served once its lifetime ends.
    /// </summary>
    private async Task ReadAgainAsync<T>(string key, string id, IStoredRecords<T> records, Held<T> held)
        where T : class
    {
        try
        {
            var heard = Volatile.Read(ref _announcements);
            var read = await ReadStoredAsync(id, records, held);
            if (Volatile.Read(ref _announcements) != heard)
            {
                // Perhaps read before a write it was then announced: a later call reads it again.
                Volatile.Write(ref held.ReadingAgain, 0);
                return;
            }

            if (_cache.TryGet<Held<T>>(key) is { HasValue: true } now && ReferenceEquals(now.Value, held))
            {
                try
                {
                    await _cache.SetAsync(key, read);
                    if (Volatile.Read(ref _announcements) != heard)
                    {
                        await _cache.ExpireAsync(key);
                    }
                }
                finally
                {
                    Changed(key);
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Left as it is: once its lifetime ends it is read before it is served, in fail-safe if Redis is still down.
        }
    }

    /// <summary>
    /// Reads the stored bytes again, and decodes them only when they differ from those <paramref name="known"/> was decoded
    /// from: most records read again have not changed, and decrypting and deserializing them again would only make a new
    /// copy of what is cached.
    /// </summary>
    private async Task<Held<T>> ReadStoredAsync<T>(string id, IStoredRecords<T> records, Held<T>? known)
        where T : class
    {
        var stored = await records.FetchAsync(id);
        if (stored.IsNullOrEmpty)
        {
            return Hold<T>(null, null);
        }

        var bytes = (byte[])stored!;
        var fingerprint = Fingerprint(bytes);
        var value = known is { Value: not null } && known.Fingerprint == fingerprint ? known.Value : await records.DecodeAsync(id, bytes);
        return new Held<T>(value, fingerprint, ReadAgainAt());
    }

    private Held<T> Hold<T>(T? value, byte[]? stored)
        where T : class
        => new(value, stored is null ? null : Fingerprint(stored), ReadAgainAt());

    /// <summary>
    /// Between half and seven tenths of the lifetime, drawn for each record so that records read together are not read
    /// again together; always before the entry's own end (three quarters of the lifetime at the earliest).
    /// </summary>
    private long ReadAgainAt()
        => _time.GetTimestamp() + (long)(_lifetime.TotalSeconds * (0.5 + (Random.Shared.NextDouble() * 0.2)) * _time.TimestampFrequency);

    private static string Fingerprint(byte[] stored) => Convert.ToBase64String(SHA256.HashData(stored));

    /// <summary>
    /// Counted before FusionCache acts on it; a write marks the entry stale whatever its time, and so does a delete until
    /// FusionCache removes the entry, so that the key's version moves after the change, not before. Any other message
    /// moves the epoch: what it changes is not known here.
    /// </summary>
    private void Announced(BackplaneMessage message)
    {
        Interlocked.Increment(ref _announcements);
        if (message.Action is BackplaneMessageAction.EntrySet or BackplaneMessageAction.EntryExpire or BackplaneMessageAction.EntryRemove
            && message.CacheKey is { } key && !key.StartsWith(InternalKeyPrefix, StringComparison.Ordinal))
        {
            _cache.Expire(key);
            Changed(key);
        }
        else
        {
            Interlocked.Increment(ref _epoch.Value);
        }
    }

    /// <summary>The version of <paramref name="key"/>'s entry, made when first asked for.</summary>
    private RecordStamp.Counter VersionOf(string key)
    {
        if (_versions.TryGetValue(key, out var version))
        {
            return version;
        }

        if (_versions.Count >= VersionCapacity)
        {
            // Cleared first, then the epoch: a stamp taken with a version from before the clear saw the epoch before it too.
            _versions.Clear();
            Interlocked.Increment(ref _epoch.Value);
        }

        return _versions.GetOrAdd(key, static _ => new RecordStamp.Counter());
    }

    /// <summary>Counts <paramref name="change"/> to <paramref name="key"/>'s entry once it has taken effect, or failed.</summary>
    private async ValueTask ChangeAsync(string key, ValueTask change)
    {
        try
        {
            await change;
        }
        finally
        {
            Changed(key);
        }
    }

    /// <summary>Counts a change to <paramref name="key"/>'s entry, once it has taken effect. No version, no stamp to tell.</summary>
    private void Changed(string key)
    {
        if (_versions.TryGetValue(key, out var version))
        {
            Interlocked.Increment(ref version.Value);
        }
    }

    /// <summary>A record as cached: with the fingerprint of the bytes it was decoded from, and when to read it again.</summary>
    private sealed class Held<T>(T? value, string? fingerprint, long readAgainAt)
        where T : class
    {
        public int ReadingAgain;

        public T? Value { get; } = value;

        public string? Fingerprint { get; } = fingerprint;

        public long ReadAgainAt { get; } = readAgainAt;
    }
}
