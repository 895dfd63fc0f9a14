using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Grants;

/// <summary>
/// Grants in Redis, encrypted with Data Protection: no token is ever stored in plaintext. Each grant is bound to its key:
/// encrypted for its person id (the purpose chain), and a grant that decrypts under another person's key is refused, so
/// copying one person's record onto another's key gives nothing. A sorted set indexes them by refresh-token expiry for the
/// keep-alive. Reads on the request path are served decoded from the <see cref="RecordCache"/>; a refresh reads Redis
/// itself. Writes are conditional on what was read, so a refresh or sign-in never brings back a grant a logout deleted
/// meanwhile. A failed read never deletes anything.
/// </summary>
public sealed class GrantStore : IStoredRecords<Grant>
{
    /// <summary>How long a grant write waits for <c>Redis:WaitForReplicas</c> replicas to confirm it.</summary>
    private const int ReplicaWaitMilliseconds = 500;

    /// <summary>
    /// Writes the grant (and its index entry) only if the key still holds what the writer read: nothing (ARGV[1] 'absent')
    /// or exactly that value (ARGV[2]).
    /// </summary>
    private const string ReplaceScript = """
        local current = redis.call('get', KEYS[1])
        if ARGV[1] == 'absent' then
          if current then return 0 end
        elseif current ~= ARGV[2] then
          return 0
        end
        redis.call('set', KEYS[1], ARGV[3], 'px', ARGV[4])
        redis.call('zadd', KEYS[2], ARGV[5], ARGV[6])
        return 1
        """;

    /// <summary>Removes an index entry whose grant key is gone (expired or deleted); an entry whose grant exists stays.</summary>
    private const string ForgetScript = """
        if redis.call('exists', KEYS[1]) == 0 then return redis.call('zrem', KEYS[2], ARGV[1]) end
        return 0
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<GrantStore> _logger;
    private readonly RecordCache _cache;

    /// <summary>The grants' purpose; each grant is encrypted for a sub-purpose, its person id.</summary>
    private readonly IDataProtector _protector;
    private readonly int _waitForReplicas;

    /// <summary>Resolved on first use: followers may themselves need the grant store.</summary>
    private readonly Lazy<IGrantFollower[]> _followers;

    public GrantStore(IConnectionMultiplexer redis, RedisKeys keys, IDataProtectionProvider protection, TimeProvider time,
        RecordCache cache, IOptions<RedisOptions> redisOptions, IServiceProvider services, ILogger<GrantStore> logger)
    {
        _followers = new Lazy<IGrantFollower[]>(() => [.. services.GetServices<IGrantFollower>()]);
        _waitForReplicas = redisOptions.Value.WaitForReplicas;
        _redis = redis;
        _keys = keys;
        _time = time;
        _logger = logger;
        _cache = cache;
        _protector = protection.CreateProtector("WebexGateway.Grants.v1");
    }

    /// <summary>The person's grant as this instance knows it: from memory when it has it, else from Redis.</summary>
    public ValueTask<Grant?> GetAsync(string personId, CancellationToken cancellationToken = default)
        => _cache.GetOrReadAsync(CacheKey(personId), personId, this, cancellationToken);

    /// <summary>As <see cref="GetAsync"/>, with the stamp that tells whether it is still the grant cached.</summary>
    public ValueTask<Stamped<Grant>> GetStampedAsync(string personId, CancellationToken cancellationToken = default)
        => _cache.GetOrReadStampedAsync(CacheKey(personId), personId, this, cancellationToken);

    /// <summary>The person's grant as Redis holds it now (another instance may have refreshed it); this instance keeps it.</summary>
    public async Task<Grant?> ReadAsync(string personId) => (await ReadStoredAsync(personId)).Grant;

    /// <summary>As <see cref="ReadAsync"/>, with the stored value a following <see cref="ReplaceAsync"/> is conditional on.</summary>
    public async Task<StoredGrant> ReadStoredAsync(string personId)
    {
        var stored = await ReadFromRedisAsync(personId);
        await _cache.KeepAsync(CacheKey(personId), stored.Grant, stored.Value.IsNullOrEmpty ? null : (byte[])stored.Value!);
        return stored;
    }

    /// <summary>
    /// Stores <paramref name="grant"/> in place of what <paramref name="read"/> found, unless the key changed since (a logout,
    /// a sign-in or another refresh came first): then nothing is written and the answer is false.
    /// </summary>
    public async Task<bool> ReplaceAsync(StoredGrant read, Grant grant)
    {
        var db = _redis.GetDatabase();
        if (await TryWriteAsync(db, read.Value, grant) is not { } written)
        {
            return false;
        }

        await _cache.WrittenAsync(CacheKey(grant.PersonId), grant, written);
        if (_waitForReplicas > 0)
        {
            await WaitForReplicasAsync(db);
        }

        return true;
    }

    /// <summary>
    /// Stores a sign-in's grant in place of what <paramref name="found"/> read, keeping the generation of the person's grant
    /// while one exists and starting a new one when none does; returns the grant as stored.
    /// </summary>
    public async Task<Grant> SaveSignedInAsync(Grant grant, StoredGrant found)
    {
        for (var attempt = 1; ; attempt++)
        {
            var generation = found.Grant is { Generation.Length: > 0 } current ? current.Generation : Grant.NewGeneration();
            var stored = grant with { Generation = generation };
            if (await ReplaceAsync(found, stored))
            {
                foreach (var follower in _followers.Value)
                {
                    await follower.SignedInAsync(stored);
                }

                return stored;
            }

            if (attempt == 3)
            {
                throw new RedisException("The person's grant kept changing while a sign-in stored it.");
            }

            found = await ReadStoredAsync(grant.PersonId);
        }
    }

    /// <summary>Deletes the person's grant on every instance; <paramref name="last"/> is the grant as the caller knew it.</summary>
    public async Task DeleteAsync(string personId, Grant? last = null)
    {
        var db = _redis.GetDatabase();
        await Task.WhenAll(db.KeyDeleteAsync(_keys.Grant(personId)), db.SortedSetRemoveAsync(_keys.GrantsByRefreshExpiry, personId));
        await _cache.DeletedAsync(CacheKey(personId));
        foreach (var follower in _followers.Value)
        {
            await follower.DeletedAsync(personId, last);
        }
    }

    /// <summary>The people whose refresh token expires before <paramref name="before"/>.</summary>
    public async Task<IReadOnlyList<string>> ExpiringBeforeAsync(DateTimeOffset before)
    {
        var members = await _redis.GetDatabase().SortedSetRangeByScoreAsync(_keys.GrantsByRefreshExpiry, double.NegativeInfinity, before.ToUnixTimeSeconds());
        return members.Select(m => (string)m!).ToList();
    }

    /// <summary>Takes the person out of the index when their grant key no longer exists; true when it did.</summary>
    public async Task<bool> ForgetIfGoneAsync(string personId)
        => (long)await _redis.GetDatabase().ScriptEvaluateAsync(ForgetScript, [_keys.Grant(personId), _keys.GrantsByRefreshExpiry], [personId]) == 1;

    private static readonly DerivedStrings CacheKeys = new(id => "grant:" + id);

    private static string CacheKey(string personId) => CacheKeys.Of(personId);

    Task<RedisValue> IStoredRecords<Grant>.FetchAsync(string id) => _redis.GetDatabase().StringGetAsync(_keys.Grant(id));

    async Task<Grant?> IStoredRecords<Grant>.DecodeAsync(string id, byte[] stored) => (await DecodeStoredAsync(id, stored)).Grant;

    private async Task<StoredGrant> ReadFromRedisAsync(string personId)
    {
        var value = await ((IStoredRecords<Grant>)this).FetchAsync(personId);
        return value.IsNullOrEmpty ? new StoredGrant(null, value) : await DecodeStoredAsync(personId, value);
    }

    private async Task<StoredGrant> DecodeStoredAsync(string personId, RedisValue value)
    {
        var grant = Decode(personId, value!, out var unbound);
        if (grant is not null && unbound && await TryWriteAsync(_redis.GetDatabase(), value, grant) is { } rebound)
        {
            // Stored before grants were bound to their person: read once with the old purpose, now rewritten bound.
            Log.GrantRebound(_logger);
            return new StoredGrant(grant, rebound);
        }

        return new StoredGrant(grant, value);
    }

    private Grant? Decode(string personId, byte[] payload, out bool unbound)
    {
        unbound = false;
        byte[] json;
        try
        {
            json = _protector.CreateProtector(personId).Unprotect(payload);
        }
        catch (CryptographicException)
        {
            try
            {
                json = _protector.Unprotect(payload);
                unbound = true;
            }
            catch (CryptographicException e)
            {
                // Another person's record copied here, or a key ring this instance cannot read: as good as no grant.
                Log.UnreadableGrant(_logger, e.GetType().Name);
                return null;
            }
        }

        Grant? grant;
        try
        {
            grant = JsonSerializer.Deserialize(json, GrantJsonContext.Default.Grant);
        }
        catch (JsonException e)
        {
            Log.UnreadableGrant(_logger, e.GetType().Name);
            return null;
        }

        if (grant is null || !string.Equals(grant.PersonId, personId, StringComparison.Ordinal))
        {
            Log.GrantOfAnotherPerson(_logger);
            return null;
        }

        return grant;
    }

    /// <summary>The value written, or null when the key no longer held <paramref name="expected"/>.</summary>
    private async Task<byte[]?> TryWriteAsync(IDatabase db, RedisValue expected, Grant grant)
    {
        var payload = _protector.CreateProtector(grant.PersonId).Protect(JsonSerializer.SerializeToUtf8Bytes(grant, GrantJsonContext.Default.Grant));
        var lifetime = grant.RefreshTokenExpiresAt - _time.GetUtcNow();
        var written = await db.ScriptEvaluateAsync(
            ReplaceScript,
            [_keys.Grant(grant.PersonId), _keys.GrantsByRefreshExpiry],
            [
                expected.IsNull ? "absent" : "value",
                expected.IsNull ? RedisValue.EmptyString : expected,
                payload,
                (long)Math.Max(1000, lifetime.TotalMilliseconds),
                grant.RefreshTokenExpiresAt.ToUnixTimeSeconds(),
                grant.PersonId,
            ]);
        return (long)written == 1 ? payload : null;
    }

    /// <summary>WAIT follows the writes on the same connection, so it counts the replicas that have them.</summary>
    private async Task WaitForReplicasAsync(IDatabase db)
    {
        int acknowledged;
        string outcome;
        try
        {
            acknowledged = (int)await db.ExecuteAsync("WAIT", _waitForReplicas, ReplicaWaitMilliseconds);
            outcome = "timed out";
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // The primary has the grant; only its durability is unconfirmed, which is no reason to fail the request.
            acknowledged = 0;
            outcome = e.GetType().Name;
        }

        if (acknowledged < _waitForReplicas)
        {
            Log.GrantNotReplicated(_logger, acknowledged, _waitForReplicas, ReplicaWaitMilliseconds, outcome);
        }
    }
}

/// <summary>A grant as Redis held it when read (null when absent or unreadable), and the stored value itself.</summary>
public sealed record StoredGrant(Grant? Grant, RedisValue Value);

[System.Text.Json.Serialization.JsonSerializable(typeof(Grant))]
internal sealed partial class GrantJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
