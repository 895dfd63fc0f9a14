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
/// refresh-token expiry for the keep-alive. During a Redis outage, grants this instance read recently are served from
/// memory while their access token is valid; a failed read never deletes anything.
/// </summary>
public sealed class GrantStore
{
    private const string InvalidationKind = "grant";
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<GrantStore> _logger;
    private readonly StoreInvalidation _invalidation;
    private readonly MemoryFallback<Grant> _fallback;
    private readonly IDataProtector _protector;

    /// <summary>How long a grant write waits for <c>Redis:WaitForReplicas</c> replicas to confirm it.</summary>
    private const int ReplicaWaitMilliseconds = 500;

    private readonly int _waitForReplicas;

    public GrantStore(IConnectionMultiplexer redis, RedisKeys keys, IDataProtectionProvider protection, TimeProvider time,
        StoreInvalidation invalidation, MemoryFallback<Grant> fallback, IOptions<RedisOptions> redisOptions, ILogger<GrantStore> logger)
    {
        _waitForReplicas = redisOptions.Value.WaitForReplicas;
        _redis = redis;
        _keys = keys;
        _time = time;
        _logger = logger;
        _invalidation = invalidation;
        _fallback = fallback;
        _protector = protection.CreateProtector("WebexGateway.Grants.v1");
        fallback.FollowDeletions(invalidation, InvalidationKind);
    }

    public Task<Grant?> GetAsync(string personId) => _fallback.ReadAsync(
        InvalidationKind,
        personId,
        () => _redis.GetDatabase().StringGetAsync(_keys.Grant(personId)),
        value =>
        {
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
        },
        usableInOutage: grant => grant.AccessTokenExpiresAt > _time.GetUtcNow());

    public async Task SaveAsync(Grant grant)
    {
        var payload = _protector.Protect(JsonSerializer.SerializeToUtf8Bytes(grant, GrantJsonContext.Default.Grant));
        var lifetime = grant.RefreshTokenExpiresAt - _time.GetUtcNow();
        var db = _redis.GetDatabase();
        var saved = db.StringSetAsync(_keys.Grant(grant.PersonId), payload, lifetime > TimeSpan.Zero ? lifetime : TimeSpan.FromSeconds(1));
        var indexed = db.SortedSetAddAsync(_keys.GrantsByRefreshExpiry, grant.PersonId, grant.RefreshTokenExpiresAt.ToUnixTimeSeconds());
        await Task.WhenAll(saved, indexed);
        _fallback.Remember(grant.PersonId, grant);
        if (_waitForReplicas > 0)
        {
            await WaitForReplicasAsync(db);
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

    public async Task DeleteAsync(string personId)
    {
        var db = _redis.GetDatabase();
        await Task.WhenAll(db.KeyDeleteAsync(_keys.Grant(personId)), db.SortedSetRemoveAsync(_keys.GrantsByRefreshExpiry, personId));
        _fallback.Forget(personId);
        await _invalidation.PublishAsync(InvalidationKind, personId);
    }

    /// <summary>The people whose refresh token expires before <paramref name="before"/>.</summary>
    public async Task<IReadOnlyList<string>> ExpiringBeforeAsync(DateTimeOffset before)
    {
        var members = await _redis.GetDatabase().SortedSetRangeByScoreAsync(_keys.GrantsByRefreshExpiry, double.NegativeInfinity, before.ToUnixTimeSeconds());
        return members.Select(m => (string)m!).ToList();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Grant))]
internal sealed partial class GrantJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
