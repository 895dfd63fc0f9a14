using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using StackExchange.Redis;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Auth;

/// <summary>
/// Sessions kept server-side: the cookie holds only a random id, so it stays small,
/// and deleting the Redis entry ends the session on every instance at once.
/// </summary>
public sealed class RedisTicketStore : ITicketStore
{
    private const string InvalidationKind = "session";
    private static readonly TimeSpan FallbackLifetime = TimeSpan.FromHours(8);
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly StoreInvalidation _invalidation;
    private readonly MemoryFallback<AuthenticationTicket> _fallback;
    private readonly ILogger<RedisTicketStore> _logger;
    private readonly IDataProtector _protector;

    public RedisTicketStore(IConnectionMultiplexer redis, RedisKeys keys, IDataProtectionProvider protection, TimeProvider time,
        StoreInvalidation invalidation, MemoryFallback<AuthenticationTicket> fallback, ILogger<RedisTicketStore> logger)
    {
        _redis = redis;
        _keys = keys;
        _time = time;
        _invalidation = invalidation;
        _fallback = fallback;
        _logger = logger;
        _protector = protection.CreateProtector("WebexGateway.Sessions.v1");
        fallback.FollowDeletions(invalidation, InvalidationKind);
    }

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
            Log.SessionRenewFailed(_logger, e.GetType().Name);
        }
    }

    public Task<AuthenticationTicket?> RetrieveAsync(string key) => _fallback.ReadAsync(
        InvalidationKind,
        key,
        () => _redis.GetDatabase().StringGetAsync(_keys.Session(key)),
        value =>
        {
            try
            {
                return TicketSerializer.Default.Deserialize(_protector.Unprotect((byte[])value!));
            }
            catch (CryptographicException)
            {
                return null;
            }
        });

    public async Task RemoveAsync(string key)
    {
        await _redis.GetDatabase().KeyDeleteAsync(_keys.Session(key));
        _fallback.Forget(key);
        await _invalidation.PublishAsync(InvalidationKind, key);
    }

    private async Task WriteAsync(string key, AuthenticationTicket ticket)
    {
        var payload = _protector.Protect(TicketSerializer.Default.Serialize(ticket));
        var lifetime = (ticket.Properties.ExpiresUtc ?? _time.GetUtcNow() + FallbackLifetime) - _time.GetUtcNow();
        await _redis.GetDatabase().StringSetAsync(_keys.Session(key), payload, lifetime > TimeSpan.Zero ? lifetime : TimeSpan.FromSeconds(1));
        _fallback.Remember(key, ticket);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
