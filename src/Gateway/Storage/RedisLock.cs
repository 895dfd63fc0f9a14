using System.Security.Cryptography;
using StackExchange.Redis;

namespace WebexGateway.Storage;

/// <summary>
/// A lease-based Redis lock: SET NX PX with a random owner token, renewed while it is held, released by
/// compare-and-delete so that a holder whose lease ran out can never release or extend somebody else's lock.
/// </summary>
public sealed class RedisLock(IConnectionMultiplexer redis)
{
    private const string ReleaseScript =
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    private const string RenewScript =
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

    /// <summary>
    /// Takes the lock for <paramref name="leaseTime"/>, renewed every third of it until disposed: a holder stuck
    /// in a slow call keeps it, while a holder that died loses it within one lease.
    /// </summary>
    public async Task<Lease?> TryAcquireAsync(RedisKey key, TimeSpan leaseTime)
    {
        var owner = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var acquired = await redis.GetDatabase().StringSetAsync(key, owner, leaseTime, When.NotExists);
        return acquired ? new Lease(redis, key, owner, leaseTime) : null;
    }

    public sealed class Lease : IAsyncDisposable
    {
        private readonly IConnectionMultiplexer _redis;
        private readonly RedisKey _key;
        private readonly string _owner;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewal;
        private readonly TimeSpan _leaseTime;

        internal Lease(IConnectionMultiplexer redis, RedisKey key, string owner, TimeSpan leaseTime)
        {
            _redis = redis;
            _key = key;
            _owner = owner;
            _leaseTime = leaseTime;
            _renewal = RenewAsync(leaseTime);
        }

        /// <summary>False once a renewal found the lock gone or held by another owner.</summary>
        public bool Held { get; private set; } = true;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _renewal;
            _stop.Dispose();
            if (!await TryReleaseAsync())
            {
                // Redis is away (the lock may even survive a restart in its append-only file): keep trying in the
                // background until the lease would have run out anyway, so nobody waits on a lock nobody holds.
                _ = Task.Run(async () =>
                {
                    var deadline = DateTime.UtcNow + _leaseTime;
                    while (DateTime.UtcNow < deadline && !await TryReleaseAsync())
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(250));
                    }
                });
            }
        }

        private async Task<bool> TryReleaseAsync()
        {
            try
            {
                await _redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [_key], [_owner]);
                return true;
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException)
            {
                return false;
            }
        }

        private async Task RenewAsync(TimeSpan leaseTime)
        {
            using var timer = new PeriodicTimer(leaseTime / 3);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    try
                    {
                        var renewed = (long)await _redis.GetDatabase().ScriptEvaluateAsync(
                            RenewScript, [_key], [_owner, (long)leaseTime.TotalMilliseconds]);
                        Held = renewed == 1;
                    }
                    catch (Exception e) when (e is RedisException or RedisTimeoutException)
                    {
                        // Try again at the next tick; the lease still has two thirds of its time.
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
