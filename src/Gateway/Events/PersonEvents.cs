using System.Text.Json;
using StackExchange.Redis;
using WebexGateway.Storage;

namespace WebexGateway.Events;

/// <summary>
/// Each person's events: a log in Redis that a reconnecting stream resumes from, and a publication that every instance
/// hands to the person's open streams.
/// </summary>
public sealed class PersonEvents(IConnectionMultiplexer redis, RedisKeys keys)
{
    /// <summary>How long an event id is remembered, so a redelivery of it is not appended twice.</summary>
    private static readonly TimeSpan SeenFor = TimeSpan.FromHours(24);

    // Garnet has no streams (XADD is an unknown command there), so the log is a sorted set scored by a per-person sequence.
    private const string AppendScript = """
        if not redis.call('set', KEYS[3], '1', 'nx', 'ex', ARGV[2]) then return 0 end
        local position = redis.call('incr', KEYS[2])
        redis.call('zadd', KEYS[1], position, position .. ' ' .. ARGV[1])
        redis.call('expire', KEYS[1], ARGV[2])
        return position
        """;

    /// <summary>
    /// Appends the event to its person's log and tells every instance; false when an event with this id was appended before.
    /// Throws a <see cref="RedisException"/> when the store cannot take it.
    /// </summary>
    public async Task<bool> AppendAsync(WebexEvent webexEvent, CancellationToken cancellationToken = default)
    {
        var entry = JsonSerializer.Serialize(new
        {
            resource = webexEvent.Resource,
            @event = webexEvent.Event,
            actorId = webexEvent.ActorId,
            created = webexEvent.Created,
            data = webexEvent.Data,
        });
        var position = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            AppendScript,
            [keys.EventLog(webexEvent.PersonId), keys.EventSequence(webexEvent.PersonId), keys.EventSeen(webexEvent.PersonId, webexEvent.Id)],
            [entry, (long)SeenFor.TotalSeconds]);
        return position > 0;
    }
}
