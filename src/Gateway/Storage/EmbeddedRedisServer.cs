using System.Net;
using System.Net.Sockets;
using Garnet;
using Garnet.server;

namespace WebexGateway.Storage;

/// <summary>
/// Microsoft Garnet run in-process on a loopback port: the store used when <c>Redis:ConnectionString</c> is empty.
/// It speaks the Redis protocol, so the gateway reaches it through the same StackExchange.Redis code as an external Redis.
/// </summary>
public sealed class EmbeddedRedisServer : IDisposable
{
    private readonly GarnetServer _server;
    private int _disposed;

    public EmbeddedRedisServer(string dataDirectory, int port = 0)
    {
        Directory.CreateDirectory(dataDirectory);
        DataDirectory = dataDirectory;
        // Garnet cannot report back a port it was given as 0, so find a free one first.
        Port = port == 0 ? FreeLoopbackPort() : port;
        _server = new GarnetServer(new GarnetServerOptions
        {
            EndPoints = [new IPEndPoint(IPAddress.Loopback, Port)],
            // Garnet's defaults reserve gigabytes; a gateway holds a few small keys per user. Beyond the in-memory log,
            // records spill to the data directory.
            LogMemorySize = "16m",
            PageSize = "1m",
            IndexMemorySize = "2m",
            AofMemorySize = "4m",
            AofPageSize = "2m",
            EnableLua = true,
            LuaOptions = new LuaOptions(),
            EnableStorageTier = true,
            LogDir = dataDirectory,
            CheckpointDir = dataDirectory,
            // The default native device needs libaio, which slim machines lack.
            DeviceType = Tsavorite.core.DeviceType.RandomAccess,
            EnableAOF = true,
            CommitFrequencyMs = 0,
            Recover = true,
            QuietMode = true,
        });
        _server.Start();
    }

    public int Port { get; }

    public string DataDirectory { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public void Dispose()
    {
        // Garnet throws on a second Dispose.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _server.Dispose();
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
