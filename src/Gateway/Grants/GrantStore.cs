using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Grants;

/// <summary>Grants in Redis, encrypted with Data Protection: no token is ever stored in plaintext.</summary>
public sealed class GrantStore(IConnectionMultiplexer redis, RedisKeys keys, IDataProtectionProvider protection, TimeProvider time, ILogger<GrantStore> logger,
    IOptions<RedisOptions> redisOptions)
{
    /// <summary>How long a grant write waits for <c>Redis:WaitForReplicas</c> replicas to confirm it.</summary>
    private const int ReplicaWaitMilliseconds = 500;

    private readonly IDataProtector _protector = protection.CreateProtector("WebexGateway.Grants.v1");

    public async Task<Grant?> GetAsync(string personId)
    {
        var value = await redis.GetDatabase().StringGetAsync(keys.Grant(personId));
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
            Log.UnreadableGrant(logger, e.GetType().Name);
            return null;
        }
    }

    public async Task SaveAsync(Grant grant)
    {
        var payload = _protector.Protect(JsonSerializer.SerializeToUtf8Bytes(grant, GrantJsonContext.Default.Grant));
        var lifetime = grant.RefreshTokenExpiresAt - time.GetUtcNow();
        var db = redis.GetDatabase();
        await db.StringSetAsync(keys.Grant(grant.PersonId), payload, lifetime > TimeSpan.Zero ? lifetime : TimeSpan.FromSeconds(1));

        // WAIT follows the SET on the same connection, so it counts the replicas that have this write.
        var replicas = redisOptions.Value.WaitForReplicas;
        if (replicas > 0)
        {
            int acknowledged;
            string outcome;
            try
            {
                acknowledged = (int)await db.ExecuteAsync("WAIT", replicas, ReplicaWaitMilliseconds);
                outcome = "timed out";
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException)
            {
                // The primary has the grant; only its durability is unconfirmed, which is no reason to fail the request.
                acknowledged = 0;
                outcome = e.GetType().Name;
            }

            if (acknowledged < replicas)
            {
                Log.GrantNotReplicated(logger, acknowledged, replicas, ReplicaWaitMilliseconds, outcome);
            }
        }
    }

    public Task<bool> DeleteAsync(string personId) => redis.GetDatabase().KeyDeleteAsync(keys.Grant(personId));
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Grant))]
internal sealed partial class GrantJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
