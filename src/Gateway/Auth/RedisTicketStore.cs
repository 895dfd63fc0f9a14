using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Auth;

/// <summary>
/// Sessions kept server-side: the cookie holds only a random id, so it stays small, and deleting the Redis entry ends
/// the session on every instance at once. Each record is encrypted for its session id (the purpose chain), so a record
/// copied onto another session's key does not decrypt. A set per person lists their sessions, so a logout ends them all.
/// Reads are served decoded from the <see cref="RecordCache"/>.
/// </summary>
public sealed class RedisTicketStore(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    IDataProtectionProvider protection,
    TimeProvider time,
    RecordCache cache,
    IOptions<SessionLifetimeOptions> lifetime,
    ILogger<RedisTicketStore> logger) : ITicketStore, IStoredRecords<StoredSession>
{
    private static readonly TimeSpan FallbackLifetime = TimeSpan.FromHours(8);

    /// <summary>The sessions' purpose; each session is encrypted for a sub-purpose, its id.</summary>
    private readonly IDataProtector _protector = protection.CreateProtector("WebexGateway.Sessions.v1");

    public async Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        var id = Base64Url(RandomNumberGenerator.GetBytes(32));
        await WriteAsync(id, ticket, When.Always);
        if (ticket.Principal.GetPersonId() is { } personId)
        {
            // No session outlives its absolute lifetime, so neither need the list of them: it lives that long after the last sign-in.
            var db = redis.GetDatabase();
            await Task.WhenAll(
                db.SetAddAsync(keys.SessionsOf(personId), id),
                db.KeyExpireAsync(keys.SessionsOf(personId), lifetime.Value.AbsoluteLifetime));
        }

        return id;
    }

    public async Task RenewAsync(string key, AuthenticationTicket ticket)
    {
        try
        {
            // Only while it exists: a renewal racing a logout must not bring the session back.
            await WriteAsync(key, ticket, When.Exists);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Sliding renewal is best effort: the stored session keeps its previous expiry.
            Log.SessionRenewFailed(logger, e.GetType().Name);
        }
    }

    public async Task<AuthenticationTicket?> RetrieveAsync(string key) => (await FindAsync(key))?.ReadTicket();

    /// <summary>The session, from memory once this instance has read it: what a signed-in call asks.</summary>
    public ValueTask<StoredSession?> FindAsync(string key)
        => cache.GetOrReadAsync(CacheKey(key), key, this);

    /// <summary>As <see cref="FindAsync"/>, with the stamp that tells whether it is still the session cached.</summary>
    public ValueTask<Stamped<StoredSession>> FindStampedAsync(string key)
        => cache.GetOrReadStampedAsync(CacheKey(key), key, this);

    public async Task RemoveAsync(string key)
    {
        await redis.GetDatabase().KeyDeleteAsync(keys.Session(key));
        await cache.DeletedAsync(CacheKey(key));
    }

    /// <summary>Ends every session of the person, on every instance; returns how many were listed.</summary>
    public async Task<int> RemoveAllOfAsync(string personId)
    {
        var db = redis.GetDatabase();
        var ids = (await db.SetMembersAsync(keys.SessionsOf(personId))).Select(id => (string)id!).ToList();
        await db.KeyDeleteAsync([.. ids.Select(keys.Session), keys.SessionsOf(personId)]);
        foreach (var id in ids)
        {
            await cache.DeletedAsync(CacheKey(id));
        }

        return ids.Count;
    }

    private static readonly DerivedStrings CacheKeys = new(id => "session:" + id);

    private static string CacheKey(string sessionId) => CacheKeys.Of(sessionId);

    Task<RedisValue> IStoredRecords<StoredSession>.FetchAsync(string id) => redis.GetDatabase().StringGetAsync(keys.Session(id));

    Task<StoredSession?> IStoredRecords<StoredSession>.DecodeAsync(string id, byte[] stored)
    {
        try
        {
            return Task.FromResult(StoredSession.Read(_protector.CreateProtector(id).Unprotect(stored)));
        }
        catch (CryptographicException e)
        {
            Log.UnreadableSession(logger, e.GetType().Name);
            return Task.FromResult<StoredSession?>(null);
        }
    }

    private async Task WriteAsync(string key, AuthenticationTicket ticket, When when)
    {
        var serialized = TicketSerializer.Default.Serialize(ticket);
        var payload = _protector.CreateProtector(key).Protect(serialized);
        var expiry = (ticket.Properties.ExpiresUtc ?? time.GetUtcNow() + FallbackLifetime) - time.GetUtcNow();
        if (await redis.GetDatabase().StringSetAsync(keys.Session(key), payload, expiry > TimeSpan.Zero ? expiry : TimeSpan.FromSeconds(1), when))
        {
            await cache.WrittenAsync(CacheKey(key), new StoredSession(serialized, ticket), payload);
        }
        else
        {
            await cache.DeletedAsync(CacheKey(key));
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
