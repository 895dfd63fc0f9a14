using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Telemetry;

namespace WebexGateway.Storage;

/// <summary>
/// Whether this instance hears the announcements of every write and delete, and what it does when it may not have.
/// While it hears them, a cached record lives <c>Redis:CacheLifetimeWhileSubscribed</c>. That it hears them is proven,
/// not assumed: every half <c>Redis:CacheLifetime</c> the instance publishes a pulse on its own subscription's link. A
/// pulse not heard back by the next one (the subscription dropped, or silently losing messages) marks the whole cache
/// stale, and so does every pulse after it until one is heard again, which marks it stale once more: no record that may
/// have missed an announcement is served for longer than <c>Redis:CacheLifetime</c>. Records read before the first
/// pulse is heard (the subscription not made yet) are marked stale when it is, and so is everything when a dropped
/// subscription comes back.
/// </summary>
public sealed class SubscriptionWatch(IServiceProvider services, IOptions<RedisOptions> options, TimeProvider time,
    ILogger<SubscriptionWatch> logger) : BackgroundService
{
    private readonly TaskCompletionSource<IConnectionMultiplexer> _backplane = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private long _heard;
    private int _silent = 1;
    private int _markedStale;

    /// <summary>The channel of the pulses under <paramref name="keyPrefix"/>.</summary>
    public static RedisChannel PulseChannel(string keyPrefix) => RedisChannel.Literal(keyPrefix + "records:pulse");

    /// <summary>Whether the last pulse was heard: the announcements reach this instance.</summary>
    public bool Hearing => Volatile.Read(ref _silent) == 0;

    /// <summary>Times the whole cache was marked stale because an announcement may have been missed.</summary>
    public int MarkedStale => Volatile.Read(ref _markedStale);

    /// <summary>Called with the backplane's own multiplexer once it is made: the pulses travel its subscription.</summary>
    public void Watch(IConnectionMultiplexer backplane)
    {
        backplane.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                MarkStale("subscription restored", heardAgain: true);
            }
        };
        _backplane.TrySetResult(backplane);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backplane = await _backplane.Task.WaitAsync(stoppingToken);
        var channel = PulseChannel(options.Value.KeyPrefix);
        var subscriber = backplane.GetSubscriber();
        var subscribed = false;
        long sent = 0;
        using var timer = new PeriodicTimer(options.Value.CacheLifetime / 2, time);
        do
        {
            if (sent > 0 && Volatile.Read(ref _heard) != sent)
            {
                Volatile.Write(ref _silent, 1);
                MarkStale("pulse not heard", heardAgain: false);
            }

            try
            {
                subscribed = subscribed || await TrySubscribeAsync(subscriber, channel);
                await subscriber.PublishAsync(channel, $"{_instance}:{++sent}");
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Unsent is unheard: the next tick marks the cache stale.
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Once made, the multiplexer restores the subscription by itself after every reconnection.</summary>
    private async Task<bool> TrySubscribeAsync(ISubscriber subscriber, RedisChannel channel)
    {
        try
        {
            await subscriber.SubscribeAsync(channel, (_, message) => OnPulse(message));
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return false;
        }
    }

    private void OnPulse(RedisValue message)
    {
        var text = (string?)message;
        var separator = text?.IndexOf(':') ?? -1;
        if (separator > 0 && text.AsSpan(0, separator).SequenceEqual(_instance) && long.TryParse(text.AsSpan(separator + 1), out var pulse))
        {
            Volatile.Write(ref _heard, pulse);
            if (Interlocked.Exchange(ref _silent, 0) == 1)
            {
                MarkStale("pulse heard after silence", heardAgain: true);
            }
        }
    }

    private void MarkStale(string reason, bool heardAgain)
    {
        services.GetRequiredService<RecordCache>().MarkAllStale(heardAgain);
        Interlocked.Increment(ref _markedStale);
        Log.CacheMarkedStale(logger, reason);
    }
}
