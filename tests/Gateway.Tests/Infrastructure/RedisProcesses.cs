using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>
/// Real <c>redis-server</c> processes, a primary and a replica of it, watched by one or more <c>redis-sentinel</c>
/// processes: a Sentinel deployment on 127.0.0.1, each process on a free port with a temporary directory of its own.
/// The processes are children of the test run, stopped by their pid (never by name) in <see cref="Dispose"/>.
/// </summary>
public sealed class RedisProcesses : IDisposable
{
    public const string ServiceName = "mymaster";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly List<Node> _nodes = [];

    private readonly string _redisServer;
    private readonly string _redisSentinel;

    private RedisProcesses(string redisServer, string redisSentinel)
    {
        _redisServer = redisServer;
        _redisSentinel = redisSentinel;
    }

    public Node Primary { get; private set; } = null!;

    public Node Replica { get; private set; } = null!;

    public IReadOnlyList<Node> Sentinels { get; private set; } = [];

    /// <summary>StackExchange.Redis syntax for reaching the current primary through the sentinels.</summary>
    public string SentinelConnectionString =>
        string.Join(",", Sentinels.Select(s => s.EndPoint)) + $",serviceName={ServiceName}";

    /// <summary>
    /// Starts a primary, a replica in sync with it, and <paramref name="sentinels"/> sentinels that know both (and each other).
    /// Without redis-server or redis-sentinel on PATH the calling test is skipped (see <see cref="SystemBinaries"/>).
    /// </summary>
    public static async Task<RedisProcesses> StartAsync(int sentinels = 1)
    {
        var processes = new RedisProcesses(
            SystemBinaries.Require("redis-server", SystemBinaries.RedisSentinelInstall),
            SystemBinaries.Require("redis-sentinel", SystemBinaries.RedisSentinelInstall));
        try
        {
            await processes.StartAllAsync(sentinels);
            return processes;
        }
        catch
        {
            processes.Dispose();
            throw;
        }
    }

    /// <summary>Kills a process (SIGKILL: a crash, nothing flushed) and waits until it is gone.</summary>
    public static void Stop(Node node) => node.Stop();

    /// <summary>Polls <c>SENTINEL get-master-addr-by-name</c> on every sentinel until all name a primary other than <paramref name="oldPrimary"/>.</summary>
    public async Task<int> WaitForPromotionAsync(Node oldPrimary, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var ports = new HashSet<int>();
            foreach (var sentinel in Sentinels)
            {
                ports.Add(await PrimaryPortAsync(sentinel));
            }

            if (ports.Count == 1 && !ports.Contains(oldPrimary.Port) && !ports.Contains(0))
            {
                return ports.Single();
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Sentinel did not promote a new primary within {timeout.TotalSeconds:0} s (sentinels name {string.Join(", ", ports)}).\n{Diagnostics()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The primary's port as a sentinel names it; 0 when it does not answer.</summary>
    public static async Task<int> PrimaryPortAsync(Node sentinel)
    {
        try
        {
            var reply = await CommandAsync(sentinel.Port, "SENTINEL", "get-master-addr-by-name", ServiceName);
            return reply is object?[] { Length: 2 } address ? int.Parse((string)address[1]!, CultureInfo.InvariantCulture) : 0;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or RedisReplyException)
        {
            return 0;
        }
    }

    /// <summary>
    /// One command on a fresh connection; the reply as a string (simple and bulk strings, integers), an array, or null.
    /// An error reply throws <see cref="RedisReplyException"/>.
    /// </summary>
    public static async Task<object?> CommandAsync(int port, params string[] arguments)
    {
        using var client = new TcpClient();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(IPAddress.Loopback, port, cancel.Token);
        var stream = client.GetStream();
        var request = new StringBuilder($"*{arguments.Length}\r\n");
        foreach (var argument in arguments)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(argument)}\r\n{argument}\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancel.Token);
        return await ReadReplyAsync(new BufferedStream(stream), cancel.Token);
    }

    /// <summary>The value of one field of <c>INFO</c> (e.g. <c>master_link_status</c>), or null.</summary>
    public static async Task<string?> InfoFieldAsync(int port, string section, string field)
    {
        var info = (string?)await CommandAsync(port, "INFO", section) ?? "";
        return info.Split("\r\n").Select(line => line.Split(':', 2)).FirstOrDefault(pair => pair.Length == 2 && pair[0] == field)?[1];
    }

    /// <summary>What each process logged, for a failure message.</summary>
    public string Diagnostics()
    {
        var text = new StringBuilder();
        foreach (var node in _nodes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"--- {node.Name} ({node.EndPoint}, pid {node.ProcessId}, {(node.HasExited ? "exited" : "running")})");
            foreach (var line in node.Output.TakeLast(40))
            {
                text.AppendLine(line);
            }
        }

        return text.ToString();
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            node.Stop();
            node.Release();
        }

        foreach (var node in _nodes)
        {
            try
            {
                Directory.Delete(node.Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task StartAllAsync(int sentinels)
    {
        Primary = StartServer("primary", []);
        await WaitUntilAsync(async () => await PingsAsync(Primary), $"{Primary.Name} answers PING");

        Replica = StartServer("replica", ["--replicaof", "127.0.0.1", Primary.Port.ToString(CultureInfo.InvariantCulture)]);
        await WaitUntilAsync(async () => await PingsAsync(Replica), $"{Replica.Name} answers PING");
        await WaitUntilAsync(async () => await InfoFieldAsync(Replica.Port, "replication", "master_link_status") == "up",
            $"{Replica.Name} is in sync with {Primary.Name} (master_link_status:up)");

        var quorum = sentinels / 2 + 1;
        var started = new List<Node>();
        for (var i = 0; i < sentinels; i++)
        {
            started.Add(StartSentinel($"sentinel-{i + 1}", quorum));
        }

        Sentinels = started;
        foreach (var sentinel in Sentinels)
        {
            await WaitUntilAsync(async () => await PingsAsync(sentinel), $"{sentinel.Name} answers PING");
            // Sentinel learns of replicas from the primary's INFO, and of other sentinels from their hellos;
            // it cannot promote a replica it has not yet seen.
            await WaitUntilAsync(async () => await KnowsReplicaAsync(sentinel), $"{sentinel.Name} knows {Replica.Name}");
            await WaitUntilAsync(async () => await OtherSentinelsAsync(sentinel) >= sentinels - 1, $"{sentinel.Name} knows the other sentinels");
        }
    }

    private Node StartServer(string name, string[] extra)
    {
        var directory = TempDirectory.Create($"redis-{name}");
        var port = LoopbackPorts.Free();
        string[] arguments =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", directory,
            "--daemonize", "no", "--logfile", "", "--save", "", "--appendonly", "no",
            // Full syncs straight away: the default waits 5 s for more replicas to join.
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
            .. extra,
        ];
        return Launch(name, _redisServer, arguments, directory, port);
    }

    private Node StartSentinel(string name, int quorum)
    {
        var directory = TempDirectory.Create($"redis-{name}");
        var port = LoopbackPorts.Free();
        // Sentinel rewrites its configuration file as the deployment changes, so it must be a writable file of its own.
        var config = Path.Combine(directory, "sentinel.conf");
        File.WriteAllText(config, string.Join('\n',
            $"port {port}",
            "bind 127.0.0.1",
            $"dir {directory}",
            "daemonize no",
            "logfile \"\"",
            "sentinel resolve-hostnames no",
            $"sentinel monitor {ServiceName} 127.0.0.1 {Primary.Port} {quorum}",
            $"sentinel down-after-milliseconds {ServiceName} 1000",
            $"sentinel failover-timeout {ServiceName} 3000",
            $"sentinel parallel-syncs {ServiceName} 1",
            ""));
        return Launch(name, _redisSentinel, [config], directory, port);
    }

    private Node Launch(string name, string executable, string[] arguments, string directory, int port)
    {
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var node = new Node(name, port, directory, Process.Start(start)!);
        _nodes.Add(node);
        return node;
    }

    private async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or RedisReplyException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not met within {StartTimeout.TotalSeconds:0} s: {what}.\n{Diagnostics()}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<bool> PingsAsync(Node node) => !node.HasExited && (string?)await CommandAsync(node.Port, "PING") == "PONG";

    private async Task<bool> KnowsReplicaAsync(Node sentinel)
    {
        var replicas = await CommandAsync(sentinel.Port, "SENTINEL", "replicas", ServiceName) as object?[] ?? [];
        return replicas.OfType<object?[]>().Select(Fields).Any(fields =>
            fields.GetValueOrDefault("port") == Replica.Port.ToString(CultureInfo.InvariantCulture)
            && fields.GetValueOrDefault("flags") == "slave"
            && fields.GetValueOrDefault("master-link-status") == "ok");
    }

    private static async Task<int> OtherSentinelsAsync(Node sentinel) =>
        (await CommandAsync(sentinel.Port, "SENTINEL", "sentinels", ServiceName) as object?[] ?? []).Length;

    private static Dictionary<string, string?> Fields(object?[] flat)
    {
        var fields = new Dictionary<string, string?>();
        for (var i = 0; i + 1 < flat.Length; i += 2)
        {
            fields[(string)flat[i]!] = flat[i + 1] as string;
        }

        return fields;
    }

    private static async Task<object?> ReadReplyAsync(Stream stream, CancellationToken cancel)
    {
        var line = await ReadLineAsync(stream, cancel);
        var body = line[1..];
        switch (line[0])
        {
            case '+':
                return body;
            case '-':
                throw new RedisReplyException(body);
            case ':':
                return body;
            case '$':
                var length = int.Parse(body, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                var bytes = new byte[length + 2];
                await stream.ReadExactlyAsync(bytes, cancel);
                return Encoding.Latin1.GetString(bytes, 0, length); // byte for byte: values may be binary
            case '*':
                var count = int.Parse(body, CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return null;
                }

                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadReplyAsync(stream, cancel);
                }

                return items;
            default:
                throw new IOException($"Unexpected RESP reply '{line}'.");
        }
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancel)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, cancel) == 0)
            {
                throw new IOException("Connection closed before the reply ended.");
            }

            if (one[0] == '\n' && bytes.Count > 0 && bytes[^1] == '\r')
            {
                return Encoding.UTF8.GetString(bytes.ToArray(), 0, bytes.Count - 1);
            }

            bytes.Add(one[0]);
        }
    }


    /// <summary>One redis-server or redis-sentinel process.</summary>
    public sealed class Node
    {
        private readonly Process _process;

        internal Node(string name, int port, string directory, Process process)
        {
            Name = name;
            Port = port;
            Directory = directory;
            _process = process;
            ProcessId = process.Id;
            _process.OutputDataReceived += (_, e) => Keep(e.Data);
            _process.ErrorDataReceived += (_, e) => Keep(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Name { get; }

        public int Port { get; }

        public int ProcessId { get; }

        public string Directory { get; }

        public string EndPoint => $"127.0.0.1:{Port}";

        public bool HasExited => _process.HasExited;

        /// <summary>What the process wrote (its log goes to stdout).</summary>
        public ConcurrentQueue<string> Output { get; } = new();

        internal void Stop()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill();
                }

                _process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        internal void Release() => _process.Dispose();

        private void Keep(string? line)
        {
            if (line is not null)
            {
                Output.Enqueue(line);
                while (Output.Count > 500 && Output.TryDequeue(out _))
                {
                }
            }
        }
    }
}

/// <summary>An error reply (<c>-ERR ...</c>) from a Redis server or sentinel.</summary>
public sealed class RedisReplyException(string message) : Exception(message);
