using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using StackExchange.Redis;
using WebexGateway.Storage;

namespace WebexGateway.Auth;

/// <summary>
/// Sessions kept server-side: the cookie holds only a random id, so it stays small,
/// and deleting the Redis entry ends the session on every instance at once.
/// </summary>
public sealed class RedisTicketStore(IConnectionMultiplexer redis, RedisKeys keys, IDataProtectionProvider protection, TimeProvider time) : ITicketStore
{
    private static readonly TimeSpan FallbackLifetime = TimeSpan.FromDays(14);
    private readonly IDataProtector _protector = protection.CreateProtector("WebexGateway.Sessions.v1");

    public async Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        var id = Base64Url(RandomNumberGenerator.GetBytes(32));
        await RenewAsync(id, ticket);
        return id;
    }

    public Task RenewAsync(string key, AuthenticationTicket ticket)
    {
        var payload = _protector.Protect(TicketSerializer.Default.Serialize(ticket));
        var lifetime = (ticket.Properties.ExpiresUtc ?? time.GetUtcNow() + FallbackLifetime) - time.GetUtcNow();
        return redis.GetDatabase().StringSetAsync(keys.Session(key), payload, lifetime > TimeSpan.Zero ? lifetime : TimeSpan.FromSeconds(1));
    }

    public async Task<AuthenticationTicket?> RetrieveAsync(string key)
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

    public Task RemoveAsync(string key) => redis.GetDatabase().KeyDeleteAsync(keys.Session(key));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
