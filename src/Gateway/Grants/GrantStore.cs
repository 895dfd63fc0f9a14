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
/// Grants in Redis, encrypted with Data Protection: no token is ever stored in plaintext. A sorted set indexes them by
/// refresh-token expiry for the keep-alive. Reads on the request path are served decoded from the
/// <see cref="RecordCache"/>; a refresh reads Redis itself. A failed read never deletes anything.
/// </summary>
public sealed class GrantStore
{
    /// <summary>How long a grant write waits for <c>Redis:WaitForReplicas</c> replicas to confirm it.</summary>
    private const int ReplicaWaitMilliseconds = 500;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<GrantStore> _logger;
    private readonly RecordCache _cache;
    private readonly IDataProtector _protector;
    private readonly int _waitForReplicas;

    public GrantStore(IConnectionMultiplexer redis, RedisKeys keys, IDataProtectionProvider protection, TimeProvider time,
        RecordCache cache, IOptions<RedisOptions> redisOptions, ILogger<GrantStore> logger)
    {
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
        => _cache.GetOrReadAsync(CacheKey(personId), _ => ReadFromRedisAsync(personId), cancellationToken);

    /// <summary>The person's grant as Redis holds it now (another instance may have refreshed it); this instance keeps it.</summary>
    public async Task<Grant?> ReadAsync(string personId)
    {
        var grant = await ReadFromRedisAsync(personId);
        await _cache.KeepAsync(CacheKey(personId), grant);
        return grant;
    }

    public async Task SaveAsync(Grant grant)
    {
        var payload = _protector.Protect(JsonSerializer.SerializeToUtf8Bytes(grant, GrantJsonContext.Default.Grant));
        var lifetime = grant.RefreshTokenExpiresAt - _time.GetUtcNow();
        var db = _redis.GetDatabase();
        var saved = db.StringSetAsync(_keys.Grant(grant.PersonId), payload, lifetime > TimeSpan.Zero ? lifetime : TimeSpan.FromSeconds(1));
        var indexed = db.SortedSetAddAsync(_keys.GrantsByRefreshExpiry, grant.PersonId, grant.RefreshTokenExpiresAt.ToUnixTimeSeconds());
        await Task.WhenAll(saved, indexed);
        await _cache.WrittenAsync(CacheKey(grant.PersonId), grant);
        if (_waitForReplicas > 0)
        {
            await WaitForReplicasAsync(db);
        }
    }

    public async Task DeleteAsync(string personId)
    {
        var db = _redis.GetDatabase();
        await Task.WhenAll(db.KeyDeleteAsync(_keys.Grant(personId)), db.SortedSetRemoveAsync(_keys.GrantsByRefreshExpiry, personId));
        await _cache.DeletedAsync(CacheKey(personId));
    }

    /// <summary>The people whose refresh token expires before <paramref name="before"/>.</summary>
    public async Task<IReadOnlyList<string>> ExpiringBeforeAsync(DateTimeOffset before)
    {
        var members = await _redis.GetDatabase().SortedSetRangeByScoreAsync(_keys.GrantsByRefreshExpiry, double.NegativeInfinity, before.ToUnixTimeSeconds());
        return members.Select(m => (string)m!).ToList();
    }

    private static string CacheKey(string personId) => "grant:" + personId;

    private async Task<Grant?> ReadFromRedisAsync(string personId)
    {
        var value = await _redis.GetDatabase().StringGetAsync(_keys.Grant(personId));
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(_protector.Unprotect((byte[])value!), GrantJsonContext.Default.Grant);
        }
        catch (Exception e) when (e is CryptographicException or JsonException)
        {
            // A grant written under a key ring this instance cannot read is as good as no grant.
            Log.UnreadableGrant(_logger, e.GetType().Name);
            return null;
        }
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

[System.Text.Json.Serialization.JsonSerializable(typeof(Grant))]
internal sealed partial class GrantJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
