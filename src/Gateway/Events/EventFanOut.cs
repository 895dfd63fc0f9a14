using System.Globalization;
using System.Threading.Channels;
using StackExchange.Redis;
using WebexGateway.Grants;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Events;

/// <summary>
/// This instance's end of the fan-out: one subscription to the events channel, handing each published event to the open
/// streams of its person here. A grant deleted on any instance is published on the same channel, and ends that
/// person's streams on every instance. When the connection to Redis comes back, every stream catches up from its log.
/// </summary>
public sealed class EventFanOut : IGrantFollower, IDisposable
{
    private const string EventKind = "event";
    private const string EndedKind = "ended";

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly ILogger<EventFanOut> _logger;
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, EventStream[]> _streams = new(StringComparer.Ordinal);
    private ChannelMessageQueue? _subscription;

    public EventFanOut(IConnectionMultiplexer redis, RedisKeys keys, ILogger<EventFanOut> logger)
    {
        _redis = redis;
        _keys = keys;
        _logger = logger;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>What is published for an appended event: its person, its position and its log entry.</summary>
    public static RedisValue Publication(string personId, long position, string entry) =>
        $"{EventKind} {personId} {position.ToString(CultureInfo.InvariantCulture)} {entry}";

    /// <summary>Subscribes this instance, once; throws a <see cref="RedisException"/> while the store cannot be reached.</summary>
    public async Task SubscribeAsync()
    {
        if (Volatile.Read(ref _subscription) is not null)
        {
            return;
        }

        await _subscribing.WaitAsync();
        try
        {
            if (_subscription is null)
            {
                // A queue, not a handler: messages are handled one at a time, in the order Redis sent them.
                var queue = await _redis.GetSubscriber().SubscribeAsync(_keys.EventChannel);
                queue.OnMessage(Receive);
                Volatile.Write(ref _subscription, queue);
            }
        }
        finally
        {
            _subscribing.Release();
        }
    }

    /// <summary>A stream of <paramref name="personId"/> on this instance, which hears the person's events from now on.</summary>
    public EventStream Open(string personId)
    {
        var stream = new EventStream(personId);
        lock (_gate)
        {
            _streams[personId] = _streams.TryGetValue(personId, out var open) ? [.. open, stream] : [stream];
        }

        return stream;
    }

    public void Close(EventStream stream)
    {
        lock (_gate)
        {
            if (_streams.TryGetValue(stream.PersonId, out var open))
            {
                var rest = open.Where(s => s != stream).ToArray();
                if (rest.Length == 0)
                {
                    _streams.Remove(stream.PersonId);
                }
                else
                {
                    _streams[stream.PersonId] = rest;
                }
            }
        }
    }

    public Task SignedInAsync(Grant grant) => Task.CompletedTask;

    /// <summary>The grant is gone: the person's streams end here at once, and everywhere else when they hear of it.</summary>
    public async Task DeletedAsync(string personId, Grant? last)
    {
        End(personId);
        try
        {
            await _redis.GetSubscriber().PublishAsync(_keys.EventChannel, $"{EndedKind} {personId}");
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // The other instances' streams find the grant gone at their next keep-alive.
            Log.StreamEndNotPublished(_logger, e.GetType().Name);
        }
    }

    public void Dispose()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        _subscribing.Dispose();
    }

    private EventStream[] StreamsOf(string personId)
    {
        lock (_gate)
        {
            return _streams.TryGetValue(personId, out var open) ? open : [];
        }
    }

    private void End(string personId)
    {
        foreach (var stream in StreamsOf(personId))
        {
            stream.End();
        }
    }

    private void Receive(ChannelMessage message)
    {
        var text = (string?)message.Message;
        if (text is null)
        {
            return;
        }

        var parts = text.Split(' ', 4);
        if (parts is [EndedKind, var ended])
        {
            End(ended);
            return;
        }

        if (parts is not [EventKind, var personId, var position, var entry])
        {
            return;
        }

        var streams = StreamsOf(personId);
        if (streams.Length > 0 && LoggedEvent.Parse($"{position} {entry}") is { } loggedEvent)
        {
            foreach (var stream in streams)
            {
                stream.Deliver(loggedEvent);
            }
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // What was published while the subscription was down is lost: the log has it.
        EventStream[] all;
        lock (_gate)
        {
            all = [.. _streams.Values.SelectMany(s => s)];
        }

        foreach (var stream in all)
        {
            stream.CatchUp();
        }
    }
}

/// <summary>One open <c>/events</c> stream on this instance: the events heard for its person, waiting to be written.</summary>
public sealed class EventStream
{
    /// <summary>Events waiting beyond this many are dropped and read from the log instead.</summary>
    private const int Waiting = 256;

    private readonly Channel<LoggedEvent?> _signals = Channel.CreateBounded<LoggedEvent?>(
        new BoundedChannelOptions(Waiting) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly CancellationTokenSource _ended = new();
    private volatile bool _catchUp;

    public EventStream(string personId) => PersonId = personId;

    public string PersonId { get; }

    /// <summary>Cancelled when the person's grant is deleted.</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>Set when events may have been missed: the stream reads its log before going on.</summary>
    public bool CatchUpNeeded => _catchUp;

    public void Deliver(LoggedEvent loggedEvent)
    {
        if (!_signals.Writer.TryWrite(loggedEvent))
        {
            _catchUp = true;
        }
    }

    public void CatchUp()
    {
        _catchUp = true;
        _signals.Writer.TryWrite(null);
    }

    public void End()
    {
        try
        {
            _ended.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }

    public void ClearCatchUp() => _catchUp = false;

    public ValueTask<bool> WaitAsync(CancellationToken cancellationToken) => _signals.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>The next event heard, or null (nothing waiting, or a request to catch up).</summary>
    public bool TryTake(out LoggedEvent? loggedEvent) => _signals.Reader.TryRead(out loggedEvent);
}
