using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Telemetry;
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
/// not trusted: it is marked stale at once and read again. Marking the whole cache stale is this instance's own business,
/// so it is not FusionCache's Clear: after a Clear, FusionCache expires each entry at its next look-up and announces that
/// to every other instance, a PUBLISH made synchronously in the caller's look-up (<see cref="_staleMarks"/>).
/// An announced write also marks the entry stale whatever its time: FusionCache ignores one older than the entry, and a
/// background reading kept just before the announcement arrived is newer (GetOrSet dates its entry from before the
/// reading, so FusionCache judges that one right).
/// Every change to an entry (write, delete, reading kept again, announcement) counts in its key's version after it took
/// effect, and marking the whole cache stale counts in <see cref="_epoch"/>: a <see cref="RecordStamp"/> compares the two
/// with what they were before the record was found, which is how a caller can hold on to a record without asking the
/// cache again (<see cref="GetOrReadStampedAsync"/>).
/// A record read again and found unchanged is not cached anew: its times move on in place, and what holds on to it goes
/// on holding. With many sessions, replacing every record each time it is read again made new objects the garbage
/// collector had to carry into its older generations, a cost every call felt. So a record's lifetime here is its own
/// (<see cref="Held{T}"/>), FusionCache's entry lives long enough for it to be read again unchanged several times
/// (<see cref="EntryOptions"/>), and then the same record is set in a new entry.
/// </remarks>
public sealed class RecordCache
{
    /// <summary>Readings made while announcements keep coming are tried this many times, then served as read.</summary>
    private const int Readings = 3;

    /// <summary>Past this many keys' versions, they start over (and the epoch moves, so no stamp outlives them).</summary>
    private const int VersionCapacity = 200_000;

    /// <summary>After the store failed to answer, a record served from memory is served without asking again for this long.</summary>
    private static readonly TimeSpan ServedStaleFor = TimeSpan.FromSeconds(10);

    private readonly IFusionCache _cache;
    private readonly TimeProvider _time;
    private readonly ILogger<RecordCache> _logger;
    private readonly TimeSpan _lifetime;
    private readonly long _memoryFallback;
    private readonly long _keepFor;
    private readonly long _entryLife;

    /// <summary>The prefix of FusionCache's own keys (tagging, Clear): its announcements are FusionCache's to act on.</summary>
    private static readonly string InternalKeyPrefix = new FusionCacheOptions().InternalStrings.TagCacheKeyPrefix;

    // Published before the caller goes on, so that a client whose logout or refresh was answered finds the other instances told.
    private readonly FusionCacheEntryOptions _tellOtherInstances;
    private readonly ConcurrentDictionary<string, RecordStamp.Counter> _versions = new(StringComparer.Ordinal);
    private readonly RecordStamp.Counter _epoch = new();
    private long _announcements;

    /// <summary>
    /// How many times the whole cache was marked stale. A record holds the count from before the reading it came from, and
    /// is not served once the count has moved on: it is read first, entry by entry, and nobody else is told.
    /// </summary>
    private long _staleMarks;

    /// <summary>
    /// How many times the whole cache was marked stale because this instance hears its subscription again: what the
    /// fail-safe served through an outage is served without a reading only until then.
    /// </summary>
    private long _heardAgain;

    /// <summary>
    /// FusionCache's options for every entry. Its entry outlives the record's own lifetime, so that a record read again
    /// unchanged can stay where it is; FusionCache's fail-safe keeps it through an outage, for no longer than
    /// <c>Redis:MemoryFallback</c> after it was last read (<see cref="ReadAsync{T}"/>).
    /// </summary>
    public static FusionCacheEntryOptions EntryOptions(RedisOptions redis) => new()
    {
        Duration = EntryLife(redis),
        IsFailSafeEnabled = redis.MemoryFallback > TimeSpan.Zero,
        FailSafeMaxDuration = EntryLife(redis),
        FailSafeThrottleDuration = ServedStaleFor,
        // A hung Redis costs a request 100 ms when a stale record can answer it.
        FactorySoftTimeout = TimeSpan.FromMilliseconds(100),
        // Reads are not news: only writes and deletes go to the other instances.
        SkipBackplaneNotifications = true,
    };

    /// <summary>What must be left of an entry for its record to be kept in it once more: its lifetime, and the fail-safe after it.</summary>
    private static TimeSpan KeepFor(RedisOptions redis)
        => redis.MemoryFallback > redis.SubscribedCacheLifetime ? redis.MemoryFallback : redis.SubscribedCacheLifetime;

    /// <summary>Long enough for a record read again every half lifetime or so to stay in its entry about five times.</summary>
    private static TimeSpan EntryLife(RedisOptions redis) => KeepFor(redis) + (redis.SubscribedCacheLifetime * 3);

    public RecordCache(IFusionCache cache, IOptions<RedisOptions> options, TimeProvider time, ILogger<RecordCache> logger)
    {
        _cache = cache;
        _time = time;
        _logger = logger;
        _lifetime = options.Value.SubscribedCacheLifetime;
        _memoryFallback = Ticks(options.Value.MemoryFallback);
        _keepFor = Ticks(KeepFor(options.Value));
        _entryLife = Ticks(EntryLife(options.Value));

        // Runs before FusionCache acts on the message (FusionCacheOptions.EnableSyncEventHandlersExecution).
        cache.Events.Backplane.MessageReceived += (_, e) => Announced(e.Message);
        _tellOtherInstances = cache.CreateEntryOptions(entry =>
        {
            entry.SkipBackplaneNotifications = false;
            entry.AllowBackgroundBackplaneOperations = false;
        });
    }

    /// <summary>
    /// The cached record, or what <paramref name="records"/> holds for <paramref name="id"/> (null included) when there is
    /// none yet.
    /// </summary>
    /// <remarks>
    /// A record the cache would not serve (missing, past its lifetime, or marked stale by an announcement or
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
        return new Stamped<T>(held.Value, new RecordStamp(version, seen, _epoch, epoch, held));
    }

    /// <summary>
    /// The record cached for <paramref name="key"/>, unless it is past its lifetime or marked stale with the whole cache
    /// (and not being served through an outage).
    /// </summary>
    private Held<T>? Cached<T>(string key)
        where T : class
    {
        if (_cache.TryGet<Held<T>>(key) is not { HasValue: true } found)
        {
            return null;
        }

        var now = _time.GetTimestamp();
        return !IsPast(found.Value, now) || IsServedStale(found.Value, now) ? found.Value : null;
    }

    /// <summary>
    /// True while a record FusionCache's fail-safe served is served without asking Redis again: only until this instance
    /// hears its subscription again, when what was written elsewhere during the outage may not have been announced.
    /// </summary>
    private bool IsServedStale(HeldRecord held, long now)
        => now < Volatile.Read(ref held.ServedStaleUntil) && Volatile.Read(ref held.ServedStaleHeard) == Volatile.Read(ref _heardAgain);

    /// <summary>True once a record is past its lifetime, or the whole cache was marked stale after its reading began.</summary>
    private bool IsPast(HeldRecord held, long now)
        => now >= Volatile.Read(ref held.ExpiresAt) || Volatile.Read(ref held.StaleMarks) != Volatile.Read(ref _staleMarks);

    /// <summary>
    /// A plain look-up first, and a synchronous one: the cache has no distributed level, so there is nothing to await, and
    /// FusionCache's GetOrSet costs far more than a look-up even when it answers from memory. A record past the time to
    /// read it again is served as it is while one reading runs in the background, so no call waits on Redis for a record
    /// that has most likely not changed.
    /// </summary>
    private Held<T> Served<T>(string key, string id, IStoredRecords<T> records, Held<T> held)
        where T : class
    {
        if (_time.GetTimestamp() >= Volatile.Read(ref held.ReadAgainAt) && Interlocked.Exchange(ref held.ReadingAgain, 1) == 0)
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
    /// instance may have missed is unknown. Each entry is expired here, at its next look-up, without telling anybody.
    /// </summary>
    /// <param name="heardAgain">
    /// True when this instance hears its subscription again after a silence: what the fail-safe served is read again too.
    /// While the silence lasts, Redis most likely cannot answer, and another reading of it would only fail once more.
    /// </param>
    public void MarkAllStale(bool heardAgain)
    {
        Interlocked.Increment(ref _announcements);
        Interlocked.Increment(ref _staleMarks);
        if (heardAgain)
        {
            Interlocked.Increment(ref _heardAgain);
        }

        Interlocked.Increment(ref _epoch.Value);
    }

    /// <summary>
    /// Read under FusionCache's lock for the key, or served in fail-safe while Redis cannot answer, if it was last read
    /// within <c>Redis:MemoryFallback</c>.
    /// </summary>
    private async ValueTask<T?> ReadAsync<T>(string key, string id, IStoredRecords<T> records, CancellationToken cancellationToken)
        where T : class
    {
        for (var reading = 1; ; reading++)
        {
            var heard = Volatile.Read(ref _announcements);
            var heardAgain = Volatile.Read(ref _heardAgain);
            var read = false;
            Held<T>? made = null;
            Exception? failure = null;
            var held = await _cache.GetOrSetAsync<Held<T>>(key, async (context, _) =>
            {
                read = true;
                try
                {
                    return made = await ReadStoredAsync(id, records, context.HasStaleValue ? context.StaleValue.Value : null);
                }
                catch (Exception e)
                {
                    failure = e;
                    throw;
                }
            }, token: cancellationToken);

            var now = _time.GetTimestamp();
            if (read && !ReferenceEquals(held, made))
            {
                // Served by FusionCache's fail-safe: the store failed, or has not answered in time.
                var servedUntil = Volatile.Read(ref held.ConfirmedAt) + _memoryFallback;
                if (now >= servedUntil)
                {
                    ExceptionDispatchInfo.Capture(failure ?? new RedisTimeoutException(CommandFlags.None,
                        "The store did not answer in time, and the record was read longer ago than Redis:MemoryFallback.",
                        CommandStatus.Unknown)).Throw();
                }

                Volatile.Write(ref held.ServedStaleHeard, heardAgain);
                Volatile.Write(ref held.ServedStaleUntil, Math.Min(now + Ticks(ServedStaleFor), servedUntil));
                Log.ServedFromMemory(_logger, KindOf(key), failure is null ? "the store did not answer in time" : "the store did not answer");
            }
            else if (!read && IsPast(held, now) && reading < Readings)
            {
                // Past its lifetime here, or marked stale, not yet to FusionCache, which must be told before it reads.
                ExpireIfStill(key, held);
                continue;
            }

            if (Volatile.Read(ref _announcements) == heard || reading == Readings)
            {
                return held.Value;
            }

            await ChangeAsync(key, _cache.ExpireAsync(key, token: cancellationToken));
        }
    }

    /// <summary>What a key's record is, as the log and the metrics name it.</summary>
    public static string KindOf(string key) => key.StartsWith("grant:", StringComparison.Ordinal) ? "grant" : "session";

    /// <summary>Marks <paramref name="key"/>'s entry stale, unless it no longer holds <paramref name="held"/>.</summary>
    private void ExpireIfStill<T>(string key, Held<T> held)
        where T : class
    {
        if (_cache.TryGet<Held<T>>(key) is { HasValue: true } now && ReferenceEquals(now.Value, held))
        {
            _cache.Expire(key);
        }
    }

    /// <summary>
    /// The background reading of a record past its time to be read again. Kept only if the entry is still the one it
    /// started from: a write, a delete or an announcement meanwhile wins. Found unchanged, the record stays where it is
    /// and only its times move on, for as long as its entry lasts. A failed reading leaves the entry as it is, to be read
    /// before it is served once its lifetime ends.
    /// </summary>
    private async Task ReadAgainAsync<T>(string key, string id, IStoredRecords<T> records, Held<T> held)
        where T : class
    {
        try
        {
            var heard = Volatile.Read(ref _announcements);
            var marks = Volatile.Read(ref _staleMarks);
            var version = VersionOf(key);
            var seen = Volatile.Read(ref version.Value);
            var read = await ReadStoredAsync(id, records, held);
            if (Volatile.Read(ref _announcements) != heard || Volatile.Read(ref version.Value) != seen)
            {
                // Perhaps read before a write it was then announced, or made here: a later call reads it again.
                Volatile.Write(ref held.ReadingAgain, 0);
                return;
            }

            if (_cache.TryGet<Held<T>>(key) is { HasValue: true } now && ReferenceEquals(now.Value, held))
            {
                var at = _time.GetTimestamp();
                if (read.Fingerprint == held.Fingerprint)
                {
                    await KeepUnchangedAsync(key, held, at, marks, heard);
                    return;
                }

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
    /// A record read again and found unchanged: its times move on in place. When its FusionCache entry would end too soon
    /// after, the same record is set in a new entry: what holds on to it goes on holding, and nothing new is made for the
    /// collector to carry into its older generations.
    /// </summary>
    private async Task KeepUnchangedAsync<T>(string key, Held<T> held, long at, long marks, long heard)
        where T : class
    {
        try
        {
            Confirm(held, at, marks);
            if (at + _keepFor > Volatile.Read(ref held.KeptUntil))
            {
                Volatile.Write(ref held.KeptUntil, at + _entryLife);
                await _cache.SetAsync(key, held);
                if (Volatile.Read(ref _announcements) != heard)
                {
                    // Perhaps set over an announced write's mark: marked stale again, and what holds on to it must look again.
                    await ChangeAsync(key, _cache.ExpireAsync(key));
                }
            }
        }
        finally
        {
            Volatile.Write(ref held.ReadingAgain, 0);
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
        var marks = Volatile.Read(ref _staleMarks);
        var stored = await records.FetchAsync(id);
        if (stored.IsNullOrEmpty)
        {
            return Holding<T>(null, null, marks);
        }

        var bytes = (byte[])stored!;
        var fingerprint = Fingerprint.Of(bytes);
        var value = known is { Value: not null } && known.Fingerprint == fingerprint ? known.Value : await records.DecodeAsync(id, bytes);
        return Holding(value, fingerprint, marks);
    }

    private Held<T> Hold<T>(T? value, byte[]? stored)
        where T : class
        => Holding(value, stored is null ? null : Fingerprint.Of(stored), Volatile.Read(ref _staleMarks));

    /// <summary>A record just read or written, in a new entry; <paramref name="marks"/> is the stale count from before the reading.</summary>
    private Held<T> Holding<T>(T? value, Fingerprint? fingerprint, long marks)
        where T : class
    {
        var now = _time.GetTimestamp();
        var held = new Held<T>(value, fingerprint, keptUntil: now + _entryLife);
        Confirm(held, now, marks);
        return held;
    }

    /// <summary>
    /// The record's times from a reading at <paramref name="now"/>: read again between half and seven tenths of the
    /// lifetime, and its end between three quarters of it and all of it, both drawn for each record so that records read
    /// together are not read again together, and the time to read it again always comes first. Its end moves first: what
    /// finds the time to read it again moved also finds the record still alive.
    /// </summary>
    private void Confirm(HeldRecord held, long now, long marks)
    {
        var lifetime = _lifetime.TotalSeconds * _time.TimestampFrequency;
        Volatile.Write(ref held.StaleMarks, marks);
        Volatile.Write(ref held.ConfirmedAt, now);
        Volatile.Write(ref held.ExpiresAt, now + (long)(lifetime * (0.75 + (Random.Shared.NextDouble() * 0.25))));
        Volatile.Write(ref held.ReadAgainAt, now + (long)(lifetime * (0.5 + (Random.Shared.NextDouble() * 0.2))));
    }

    /// <summary>A span of time in <see cref="TimeProvider"/> timestamp units.</summary>
    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

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

    /// <summary>
    /// A cached record's times (<see cref="TimeProvider"/> timestamps), which move on in place each time it is read again
    /// unchanged: when it was last read, when to read it again (<see cref="RecordStamp.Due"/>), when it is no longer served
    /// without reading it first, and until when its FusionCache entry surely lasts.
    /// </summary>
    private abstract class HeldRecord(long keptUntil) : RecordStamp.Due
    {
        public long ConfirmedAt;
        public long ExpiresAt;

        /// <summary>How many times the whole cache had been marked stale when the reading this record is from began.</summary>
        public long StaleMarks;

        /// <summary>Set when FusionCache's fail-safe served it: served as it is until then, with no reading.</summary>
        public long ServedStaleUntil;

        /// <summary>How many times this instance had heard its subscription again when the fail-safe served it.</summary>
        public long ServedStaleHeard;

        public int ReadingAgain;

        /// <summary>Until when its FusionCache entry surely lasts; later once it is set in a new one.</summary>
        public long KeptUntil = keptUntil;
    }

    /// <summary>A record as cached, with the fingerprint of the bytes it was decoded from.</summary>
    private sealed class Held<T>(T? value, Fingerprint? fingerprint, long keptUntil) : HeldRecord(keptUntil)
        where T : class
    {
        public T? Value { get; } = value;

        public Fingerprint? Fingerprint { get; } = fingerprint;
    }

    /// <summary>A SHA-256 of a record's stored bytes, held in the record's entry: as text it was one more object a record.</summary>
    private readonly record struct Fingerprint(ulong A, ulong B, ulong C, ulong D)
    {
        public static Fingerprint Of(byte[] stored)
        {
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(stored, hash);
            return MemoryMarshal.Read<Fingerprint>(hash);
        }
    }
}
