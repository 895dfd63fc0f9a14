using System.Security.Cryptography;
using StackExchange.Redis;

namespace WebexGateway.Storage;

/// <summary>
/// A lease-based Redis lock: SET NX PX with a random owner token, released by compare-and-delete
/// so that a holder whose lease ran out can never release somebody else's lock.
/// </summary>
public sealed class RedisLock(IConnectionMultiplexer redis)
{
    private const string ReleaseScript =
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    public async Task<Lease?> TryAcquireAsync(RedisKey key, TimeSpan leaseTime)
    {
        var owner = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var acquired = await redis.GetDatabase().StringSetAsync(key, owner, leaseTime, When.NotExists);
        return acquired ? new Lease(redis, key, owner) : null;
    }

    public sealed class Lease(IConnectionMultiplexer redis, RedisKey key, string owner) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [key], [owner]);
            }
            catch (RedisException)
            {
                // The lease expires by itself; a failed release only delays the next holder.
            }
        }
    }
}
