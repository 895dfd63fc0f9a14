using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using StackExchange.Redis;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Auth;

/// <summary>
/// Sessions kept server-side: the cookie holds only a random id, so it stays small, and deleting the Redis entry ends
/// the session on every instance at once. Reads are served decoded from the <see cref="RecordCache"/>.
/// </summary>
public sealed class RedisTicketStore(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    IDataProtectionProvider protection,
    TimeProvider time,
    RecordCache cache,
    ILogger<RedisTicketStore> logger) : ITicketStore
{
    private static readonly TimeSpan FallbackLifetime = TimeSpan.FromHours(8);
    private readonly IDataProtector _protector = protection.CreateProtector("WebexGateway.Sessions.v1");

    public async Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        var id = Base64Url(RandomNumberGenerator.GetBytes(32));
        await WriteAsync(id, ticket);
        return id;
    }

    public async Task RenewAsync(string key, AuthenticationTicket ticket)
    {
        try
        {
            await WriteAsync(key, ticket);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Sliding renewal is best effort: the stored session keeps its previous expiry.
            Log.SessionRenewFailed(logger, e.GetType().Name);
        }
    }

    public async Task<AuthenticationTicket?> RetrieveAsync(string key)
        => await cache.GetOrReadAsync(CacheKey(key), _ => ReadFromRedisAsync(key));

    public async Task RemoveAsync(string key)
    {
        await redis.GetDatabase().KeyDeleteAsync(keys.Session(key));
        await cache.DeletedAsync(CacheKey(key));
    }

    private static string CacheKey(string sessionId) => "session:" + sessionId;

    private async Task<AuthenticationTicket?> ReadFromRedisAsync(string key)
    {
        var value = await redis.GetDatabase().StringGetAsync(keys.Session(key));
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        try
        {
            return TicketSerializer.Default.Deserialize(_protector.Unprotect((byte[])value!));
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private async Task WriteAsync(string key, AuthenticationTicket ticket)
    {
        var payload = _protector.Protect(TicketSerializer.Default.Serialize(ticket));
        var lifetime = (ticket.Properties.ExpiresUtc ?? time.GetUtcNow() + FallbackLifetime) - time.GetUtcNow();
        await redis.GetDatabase().StringSetAsync(keys.Session(key), payload, lifetime > TimeSpan.Zero ? lifetime : TimeSpan.FromSeconds(1));
        await cache.WrittenAsync(CacheKey(key), ticket);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
