using StackExchange.Redis;

namespace WebexGateway.Storage;

/// <summary>
/// Tells every instance that a session or grant was deleted, so none of them serves it from memory
/// during a later Redis outage. Pub/sub: the subscription is restored by itself after a reconnect.
/// </summary>
public sealed class StoreInvalidation
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;

    public StoreInvalidation(IConnectionMultiplexer redis, RedisKeys keys)
    {
        _redis = redis;
        _channel = RedisChannel.Literal($"{keys.Prefix}invalidate");
        try
        {
            _redis.GetSubscriber().Subscribe(_channel, (_, message) => OnMessage(message));
        }
        catch (RedisException)
        {
            // Redis is down at start-up: the multiplexer keeps the subscription and makes it when it connects.
        }
    }

    /// <summary>Raised with the kind (<c>session</c> or <c>grant</c>) and the id, on every instance including this one.</summary>
    public event Action<string, string>? Invalidated;

    private void OnMessage(RedisValue message)
    {
        var text = (string?)message;
        var separator = text?.IndexOf(' ') ?? -1;
        if (separator > 0)
        {
            Invalidated?.Invoke(text![..separator], text[(separator + 1)..]);
        }
    }

    public Task PublishAsync(string kind, string id) => _redis.GetSubscriber().PublishAsync(_channel, $"{kind} {id}");
}
