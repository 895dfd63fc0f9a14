using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace WebexGateway.Benchmarks;

/// <summary>A private redis-server on a free loopback port, data in a temporary directory, no persistence, stopped by its pid.</summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private RedisServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Pid;

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(string directory)
    {
        Directory.CreateDirectory(directory);
        var port = Ports.Free();
        var process = ChildProcess.Start("redis-server", Tools.Find("redis-server") ?? "redis-server",
        [
            "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--dir", directory,
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", Path.Combine(directory, "redis.log"),
        ], Path.Combine(directory, "redis.out.log"));
        var redis = new RedisServer(process, port);
        for (var i = 0; i < 200; i++)
        {
            if (await redis.PingAsync())
            {
                return redis;
            }

            if (process.HasExited)
            {
                break;
            }

            await Task.Delay(50);
        }

        await process.DisposeAsync();
        throw new InvalidOperationException($"redis-server did not answer PING; see {directory}/redis.log");
    }

    public Task StopAsync() => _process.StopAsync("TERM", 10);

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync("127.0.0.1", Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }
}
