using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Storage;

namespace WebexGateway.Events;

public sealed class EventStreamOptions
{
    public const string Section = "Gateway:Events";

    /// <summary>Open <c>/events</c> streams one person may hold over all instances.</summary>
    public int MaxStreamsPerPerson { get; set; } = 10;
}

internal sealed class EventStreamOptionsValidation : IValidateOptions<EventStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, EventStreamOptions options) =>
        options.MaxStreamsPerPerson is < 1 or > 1000
            ? ValidateOptionsResult.Fail($"Gateway:Events:MaxStreamsPerPerson must be from 1 to 1000 (got {options.MaxStreamsPerPerson}).")
            : ValidateOptionsResult.Success;
}

/// <summary>
/// The cap on a person's open streams over all instances: a sorted set of their streams scored by when each one's slot
/// lapses. An open stream renews its slot at every keep-alive and gives it back when it closes; the slot of a stream
/// whose instance died lapses after <see cref="Lifetime"/>.
/// </summary>
public sealed class StreamSlots(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time, IOptions<EventStreamOptions> options)
{
    /// <summary>Three keep-alives: a stream that missed two renewals (a slow store) keeps its slot.</summary>
    public static readonly TimeSpan Lifetime = EventStreamEndpoint.KeepAliveInterval * 3;

    private const string TakeScript = """
        redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
        if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
        redis.call('zadd', KEYS[1], ARGV[3], ARGV[4])
        redis.call('pexpire', KEYS[1], ARGV[5])
        return 1
        """;

    private const string RenewScript = """
        redis.call('zadd', KEYS[1], ARGV[1], ARGV[2])
        redis.call('pexpire', KEYS[1], ARGV[3])
        return 1
        """;

    public int Max => options.Value.MaxStreamsPerPerson;

    /// <summary>Takes a slot for the stream; false when the person holds <see cref="Max"/> already.</summary>
    public async Task<bool> TakeAsync(string personId, string streamId)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var taken = (long)await redis.GetDatabase().ScriptEvaluateAsync(TakeScript, [keys.EventStreams(personId)],
            [now, Max, now + (long)Lifetime.TotalMilliseconds, streamId, (long)Lifetime.TotalMilliseconds]);
        return taken == 1;
    }

    /// <summary>Keeps the stream's slot for another <see cref="Lifetime"/>, taking it again if it had lapsed meanwhile.</summary>
    public Task RenewAsync(string personId, string streamId) =>
        redis.GetDatabase().ScriptEvaluateAsync(RenewScript, [keys.EventStreams(personId)],
            [time.GetUtcNow().ToUnixTimeMilliseconds() + (long)Lifetime.TotalMilliseconds, streamId, (long)Lifetime.TotalMilliseconds]);

    public Task ReleaseAsync(string personId, string streamId) =>
        redis.GetDatabase().SortedSetRemoveAsync(keys.EventStreams(personId), streamId);
}
