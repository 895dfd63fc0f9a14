using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace WebexGateway.Storage;

/// <summary>
/// Loads the Data Protection key ring and connects the cache's backplane before the first request. Data Protection
/// reads its key ring from Redis synchronously; left to the first burst of requests, every one of them blocks a thread
/// on it at once, and on a small machine the thread pool starves until the read times out.
/// </summary>
#pragma warning disable CS9113 // the cache is taken so that it is made, and its backplane connected, now
public sealed class StoreWarmUp(IDataProtectionProvider protection, IFusionCache cache, ILogger<StoreWarmUp> logger) : IHostedService
#pragma warning restore CS9113
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(3);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Taking the cache (constructor) already set up its backplane; what is left is the key ring.
        try
        {
            // With Redis down the gateway still starts: the key ring is then read on first use, as before.
            await Task.Run(() => protection.CreateProtector("WebexGateway.WarmUp.v1").Protect([1]), cancellationToken).WaitAsync(Patience, cancellationToken);
        }
        catch (Exception e) when (e is CryptographicException or InvalidOperationException or RedisException or TimeoutException)
        {
            Telemetry.Log.StoreWarmUpFailed(logger, e.GetType().Name);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
