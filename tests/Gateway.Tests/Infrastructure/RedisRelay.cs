using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay between one gateway and a Redis-protocol server, which the test controls. It reads the Redis
/// protocol (RESP2 and RESP3) in both directions, so it can
/// <list type="bullet">
/// <item>record every command the gateway sends (attributable to that gateway alone, whatever else uses the server,
/// and the same on redis-server and Garnet);</item>
/// <item>lose the pub/sub messages on the links open now (<see cref="LoseMessagesOnSubscribedLinks"/>) while every
/// other reply still flows: exactly "the invalidation message was lost";</item>
/// <item>hold those messages back and deliver them later, in order (<see cref="HoldMessagesOnSubscribedLinks"/>,
/// <see cref="ReleaseHeldMessagesAsync"/>): "the invalidation message was slow";</item>
/// <item>close links (<see cref="CloseSubscribedLinks"/>) and cut the gateway off Redis altogether (<see cref="CutOff"/>,
/// <see cref="Restore"/>).</item>
/// </list>
/// Point the gateway at <see cref="ConnectionString"/> instead of the server.
/// </summary>
public sealed class RedisRelay : IDisposable
{
    private static readonly HashSet<string> SubscribeCommands = new(StringComparer.OrdinalIgnoreCase) { "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE" };
    private static readonly HashSet<string> MessageKinds = new(StringComparer.OrdinalIgnoreCase) { "message", "pmessage", "smessage" };

    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly Lock _gate = new();
    private readonly List<Link> _links = [];
    private readonly List<RelayedCommand> _commands = [];
    private readonly List<LostMessage> _lost = [];
    private readonly CancellationTokenSource _stopping = new();
    private volatile bool _cutOff;
    private int _nextLink;
    private long _nextCommand;

    private readonly string _options;

    private RedisRelay(IPEndPoint upstream, string options)
    {
        _upstream = upstream;
        _options = options;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _ = AcceptAsync();
    }

    /// <summary>
    /// Starts a relay to <paramref name="upstream"/>, a <c>host:port</c> with options or not, such as
    /// <see cref="RedisFixture.ConnectionString"/>; the options (a password) stay in <see cref="ConnectionString"/>.
    /// </summary>
    public static RedisRelay Start(string upstream)
    {
        var comma = upstream.IndexOf(',');
        var endpoint = comma < 0 ? upstream : upstream[..comma];
        var separator = endpoint.LastIndexOf(':');
        var host = endpoint[..separator];
        var port = int.Parse(endpoint[(separator + 1)..], CultureInfo.InvariantCulture);
        var address = IPAddress.TryParse(host, out var parsed) ? parsed : Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        return new RedisRelay(new IPEndPoint(address, port), comma < 0 ? "" : upstream[comma..]);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>What to give the gateway as <c>Redis:ConnectionString</c>.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}{_options}";

    /// <summary>Every command relayed so far, in the order the relay read them.</summary>
    public IReadOnlyList<RelayedCommand> Commands
    {
        get
        {
            lock (_gate)
            {
                return [.. _commands];
            }
        }
    }

    /// <summary>The pub/sub messages the relay did not deliver.</summary>
    public IReadOnlyList<LostMessage> LostMessages
    {
        get
        {
            lock (_gate)
            {
                return [.. _lost];
            }
        }
    }

    /// <summary>The open links that subscribed to a channel, with the channels.</summary>
    public IReadOnlyList<(int Link, IReadOnlyList<string> Channels)> SubscribedLinks
    {
        get
        {
            lock (_gate)
            {
                return _links.Where(l => !l.Closed && l.Channels.Count > 0).Select(l => (l.Id, (IReadOnlyList<string>)[.. l.Channels])).ToList();
            }
        }
    }

    /// <summary>How many links were ever opened.</summary>
    public int LinksOpened => Volatile.Read(ref _nextLink);

    /// <summary>
    /// From now on, the pub/sub messages Redis pushes down the links that have subscribed so far are not delivered (they
    /// are kept in <see cref="LostMessages"/>); replies to commands still are, and links opened later are not affected.
    /// </summary>
    public void LoseMessagesOnSubscribedLinks()
    {
        lock (_gate)
        {
            foreach (var link in _links.Where(l => l.Channels.Count > 0))
            {
                link.LoseMessages = true;
            }
        }
    }

    /// <summary>
    /// From now on, the pub/sub messages Redis pushes down the links that have subscribed so far are held back until
    /// <see cref="ReleaseHeldMessagesAsync"/>; replies to commands still flow.
    /// </summary>
    public void HoldMessagesOnSubscribedLinks()
    {
        lock (_gate)
        {
            foreach (var link in _links.Where(l => l.Channels.Count > 0))
            {
                link.HoldMessages = true;
            }
        }
    }

    /// <summary>Delivers the held messages, in the order Redis pushed them, and stops holding.</summary>
    public async Task ReleaseHeldMessagesAsync()
    {
        List<Link> holding;
        lock (_gate)
        {
            holding = _links.Where(l => l.HoldMessages).ToList();
        }

        foreach (var link in holding)
        {
            while (true)
            {
                byte[][] frames;
                lock (_gate)
                {
                    frames = [.. link.Held];
                    link.Held.Clear();
                    if (frames.Length == 0)
                    {
                        link.HoldMessages = false;
                        break;
                    }
                }

                foreach (var frame in frames)
                {
                    await link.Client.SendAsync(frame, SocketFlags.None, _stopping.Token);
                }
            }
        }
    }

    /// <summary>Closes (both ends of) every open link that has subscribed to a channel; returns how many.</summary>
    public int CloseSubscribedLinks() => Close(l => l.Channels.Count > 0);

    /// <summary>Closes every link and, until <see cref="Restore"/>, closes every new connection at once: Redis is unreachable.</summary>
    public void CutOff()
    {
        _cutOff = true;
        Close(_ => true);
    }

    public void Restore() => _cutOff = false;

    public void Dispose()
    {
        _stopping.Cancel();
        _listener.Stop();
        Close(_ => true);
    }

    private int Close(Func<Link, bool> which)
    {
        List<Link> closing;
        lock (_gate)
        {
            closing = _links.Where(l => !l.Closed && which(l)).ToList();
            foreach (var link in closing)
            {
                link.Closed = true;
            }
        }

        foreach (var link in closing)
        {
            link.Dispose();
        }

        return closing.Count;
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (_cutOff)
            {
                client.Close(0);
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(_upstream, _stopping.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            client.Close(0);
            server.Dispose();
            return;
        }

        var link = new Link(Interlocked.Increment(ref _nextLink), client, server);
        lock (_gate)
        {
            if (_cutOff)
            {
                link.Closed = true;
            }
            else
            {
                _links.Add(link);
            }
        }

        if (link.Closed)
        {
            link.Dispose();
            return;
        }

        await Task.WhenAll(PumpAsync(link, toServer: true), PumpAsync(link, toServer: false));
        lock (_gate)
        {
            link.Closed = true;
        }

        link.Dispose();
    }

    /// <summary>Forwards whole RESP frames one way, looking at each.</summary>
    private async Task PumpAsync(Link link, bool toServer)
    {
        var from = toServer ? link.Client : link.Server;
        var to = toServer ? link.Server : link.Client;
        var pending = new List<byte>();
        var chunk = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(chunk, SocketFlags.None, _stopping.Token);
                if (read == 0)
                {
                    break;
                }

                pending.AddRange(chunk.AsSpan(0, read));
                var frames = pending.ToArray();
                var output = new MemoryStream();
                var start = 0;
                while (Resp.FrameEnd(frames, start) is var end && end > 0)
                {
                    var frame = frames.AsSpan(start, end - start);
                    if (toServer ? Sent(link, frame) : Deliver(link, frame))
                    {
                        output.Write(frame);
                    }

                    start = end;
                }

                pending.RemoveRange(0, start);
                if (output.Length > 0)
                {
                    await to.SendAsync(output.ToArray(), SocketFlags.None, _stopping.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException
                                       or FormatException or IndexOutOfRangeException or ArgumentException)
        {
            // The link ends: closed by the relay or a peer, or bytes the relay cannot read as RESP.
        }
        finally
        {
            lock (_gate)
            {
                link.Closed = true;
            }

            link.Dispose();
        }
    }

    /// <summary>A command from the gateway: recorded, and always forwarded.</summary>
    private bool Sent(Link link, ReadOnlySpan<byte> frame)
    {
        var arguments = Resp.Strings(frame);
        if (arguments is not { Count: > 0 })
        {
            return true;
        }

        lock (_gate)
        {
            _commands.Add(new RelayedCommand(Interlocked.Increment(ref _nextCommand), link.Id, arguments[0].ToUpperInvariant(), arguments.Skip(1).ToArray()));
            if (SubscribeCommands.Contains(arguments[0]))
            {
                link.Channels.AddRange(arguments.Skip(1));
            }
        }

        return true;
    }

    /// <summary>A reply or push from Redis: delivered unless it is a pub/sub message on a link that loses or holds them.</summary>
    private bool Deliver(Link link, ReadOnlySpan<byte> frame)
    {
        if (!link.LoseMessages && !link.HoldMessages)
        {
            return true;
        }

        // RESP3 pushes are '>' frames; on a RESP2 subscribed link, messages are arrays. Either way: kind, [pattern,] channel, payload.
        if (frame[0] is not ((byte)'>' or (byte)'*') || Resp.Strings(frame) is not { Count: >= 3 } items || !MessageKinds.Contains(items[0]))
        {
            return true;
        }

        lock (_gate)
        {
            if (link.HoldMessages)
            {
                link.Held.Add(frame.ToArray());
            }
            else
            {
                _lost.Add(new LostMessage(link.Id, items[^2], items[^1]));
            }
        }

        return false;
    }

    /// <summary>One command as the gateway sent it; binary arguments are decoded as Latin-1, byte for byte.</summary>
    public sealed record RelayedCommand(long Sequence, int Link, string Name, IReadOnlyList<string> Arguments)
    {
        public override string ToString() =>
            $"#{Sequence} link {Link}: {Name} {string.Join(' ', Arguments.Select(a => a.Length > 60 ? a[..60] + "…" : a))}";
    }

    public sealed record LostMessage(int Link, string Channel, string Payload);

    private sealed class Link(int id, Socket client, Socket server) : IDisposable
    {
        private int _disposed;

        public int Id { get; } = id;

        public Socket Client { get; } = client;

        public Socket Server { get; } = server;

        /// <summary>Under the relay's lock.</summary>
        public List<string> Channels { get; } = [];

        public volatile bool LoseMessages;

        public volatile bool HoldMessages;

        /// <summary>Held messages, whole frames in the order Redis pushed them; under the relay's lock.</summary>
        public List<byte[]> Held { get; } = [];

        public volatile bool Closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                // Linger 0: a reset, as when a process dies or a network drops, rather than an orderly close.
                Client.Close(0);
                Server.Close(0);
            }
        }
    }

    /// <summary>Just enough of RESP2/RESP3 to find where a frame ends and to read flat arrays of strings.</summary>
    private static class Resp
    {
        /// <summary>The index just past the frame that starts at <paramref name="start"/>; 0 when the buffer holds only part of it.</summary>
        public static int FrameEnd(byte[] buffer, int start)
        {
            if (start >= buffer.Length)
            {
                return 0;
            }

            var lineEnd = LineEnd(buffer, start);
            if (lineEnd < 0)
            {
                return 0;
            }

            var next = lineEnd + 2;
            switch ((char)buffer[start])
            {
                case '$' or '!' or '=':
                    var length = Number(buffer, start + 1, lineEnd);
                    return length < 0 ? next : next + length + 2 <= buffer.Length ? next + length + 2 : 0;
                case '*' or '~' or '>' or '%' or '|':
                    var count = Number(buffer, start + 1, lineEnd);
                    if (buffer[start] is (byte)'%' or (byte)'|')
                    {
                        count *= 2;
                    }

                    for (var i = 0; i < count; i++)
                    {
                        next = FrameEnd(buffer, next);
                        if (next == 0)
                        {
                            return 0;
                        }
                    }

                    return next;
                default:
                    // Simple types (+ - : _ , # ( ) and inline commands: one line.
                    return next;
            }
        }

        /// <summary>The items of an array or push of simple values; null for anything else.</summary>
        public static List<string>? Strings(ReadOnlySpan<byte> frame)
        {
            var buffer = frame.ToArray();
            if (buffer[0] is not ((byte)'*' or (byte)'>'))
            {
                return null;
            }

            var lineEnd = LineEnd(buffer, 0);
            var count = Number(buffer, 1, lineEnd);
            var items = new List<string>(Math.Max(count, 0));
            var position = lineEnd + 2;
            for (var i = 0; i < count; i++)
            {
                var itemLineEnd = LineEnd(buffer, position);
                switch ((char)buffer[position])
                {
                    case '$':
                        var length = Number(buffer, position + 1, itemLineEnd);
                        items.Add(length < 0 ? "" : Encoding.Latin1.GetString(buffer, itemLineEnd + 2, length));
                        position = length < 0 ? itemLineEnd + 2 : itemLineEnd + 2 + length + 2;
                        break;
                    case '+' or ':':
                        items.Add(Encoding.Latin1.GetString(buffer, position + 1, itemLineEnd - position - 1));
                        position = itemLineEnd + 2;
                        break;
                    default:
                        return null;
                }
            }

            return items;
        }

        private static int LineEnd(byte[] buffer, int start)
        {
            for (var i = start; i + 1 < buffer.Length; i++)
            {
                if (buffer[i] == '\r' && buffer[i + 1] == '\n')
                {
                    return i;
                }
            }

            return -1;
        }

        private static int Number(byte[] buffer, int start, int end) =>
            int.Parse(Encoding.ASCII.GetString(buffer, start, end - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    }
}
