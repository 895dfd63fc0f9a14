using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;
using WebexGateway.Storage;

namespace WebexGateway.Events;

/// <summary>
/// Each person's events: a log in Redis that a reconnecting stream resumes from, and a publication that every instance
/// hands to the person's open streams (<see cref="EventFanOut"/>).
/// </summary>
public sealed class PersonEvents(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time)
{
    /// <summary>How long an event id is remembered, so a redelivery of it is not appended twice; also how long a log lives after its last event.</summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromHours(24);

    /// <summary>The most events a person's log keeps: each append trims it to the newest this many.</summary>
    public const int KeptEvents = 1000;

    // Garnet has no streams (XADD is an unknown command there), so the log is a sorted set scored by a per-person
    // position. The position counter never expires, so a position is never used twice for a person.
    private const string AppendScript = """
        if not redis.call('set', KEYS[3], '1', 'nx', 'ex', ARGV[2]) then return 0 end
        local position = redis.call('incr', KEYS[2])
        redis.call('zadd', KEYS[1], position, position .. ' ' .. ARGV[1])
        redis.call('zremrangebyrank', KEYS[1], 0, -1 - tonumber(ARGV[3]))
        redis.call('expire', KEYS[1], ARGV[2])
        return position
        """;

    /// <summary>
    /// Appends the event to its person's log and tells every instance; false when an event with this id was appended before.
    /// Throws a <see cref="RedisException"/> when the store cannot take it. The receipt's time and trace context (the
    /// current activity) go with it, for the delivery's duration and span.
    /// </summary>
    public async Task<bool> AppendAsync(WebexEvent webexEvent, CancellationToken cancellationToken = default)
    {
        var entry = LoggedEvent.Entry(webexEvent, time.GetUtcNow(), Activity.Current);
        var position = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            AppendScript,
            [keys.EventLog(webexEvent.PersonId), keys.EventSequence(webexEvent.PersonId), keys.EventSeen(webexEvent.PersonId, webexEvent.Id)],
            [entry, (long)KeptFor.TotalSeconds, KeptEvents]);
        if (position <= 0)
        {
            return false;
        }

        // Appended: a lost publication costs latency, not the event, since every stream catches up from the log.
        try
        {
            await redis.GetSubscriber().PublishAsync(keys.EventChannel, EventFanOut.Publication(webexEvent.PersonId, position, entry));
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // The streams read the log at their next keep-alive.
        }

        return true;
    }

    /// <summary>The position of the person's newest event (0 for none): where a stream without <c>Last-Event-ID</c> starts.</summary>
    public async Task<long> PositionAsync(string personId)
    {
        var value = await redis.GetDatabase().StringGetAsync(keys.EventSequence(personId));
        return value.IsNullOrEmpty ? 0 : long.Parse((string)value!, CultureInfo.InvariantCulture);
    }

    /// <summary>The person's logged events after <paramref name="position"/>, oldest first.</summary>
    public async Task<IReadOnlyList<LoggedEvent>> ReadAfterAsync(string personId, long position)
    {
        var members = await redis.GetDatabase().SortedSetRangeByScoreAsync(keys.EventLog(personId), position, double.PositiveInfinity, Exclude.Start);
        var events = new List<LoggedEvent>(members.Length);
        foreach (var member in members)
        {
            if (LoggedEvent.Parse(member!) is { } loggedEvent)
            {
                events.Add(loggedEvent);
            }
        }

        return events;
    }
}
