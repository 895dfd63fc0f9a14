using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Garnet;
using Garnet.server;
using Garnet.server.Auth.Settings;

namespace WebexGateway.Storage;

/// <summary>
/// Microsoft Garnet run in-process on a loopback port: the store used when <c>Redis:ConnectionString</c> is empty.
/// It speaks the Redis protocol, so the gateway reaches it through the same StackExchange.Redis code as an external Redis.
/// Every other local user can reach a loopback port, so the store asks for a password, made at first start and kept in
/// the data folder, which only the gateway's user can open (the key ring is in there too).
/// </summary>
public sealed class EmbeddedRedisServer : IDisposable
{
    /// <summary>The file in the data folder that holds the store's password.</summary>
    public const string PasswordFileName = "password";

    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly GarnetServer _server;
    private readonly string _password;
    private int _disposed;

    public EmbeddedRedisServer(string dataDirectory, int port = 0)
    {
        CreatePrivateFolder(dataDirectory);
        DataDirectory = dataDirectory;
        _password = ReadOrCreatePassword(Path.Combine(dataDirectory, PasswordFileName));
        // Garnet cannot report back a port it was given as 0, so find a free one first.
        Port = port == 0 ? FreeLoopbackPort() : port;
        _server = new GarnetServer(new GarnetServerOptions
        {
            EndPoints = [new IPEndPoint(IPAddress.Loopback, Port)],
            AuthSettings = new PasswordAuthenticationSettings(_password),
            // Garnet's defaults reserve gigabytes; a gateway holds a few small keys per user. Beyond the in-memory log,
            // records spill to the data directory, and every read of one is a disk read: at 16 MiB, 10,000 sessions'
            // records no longer fit, and their re-readings went to disk (bench/). The log's pages are taken as it grows.
            LogMemorySize = "128m",
            PageSize = "1m",
            IndexMemorySize = "2m",
            AofMemorySize = "4m",
            AofPageSize = "2m",
            EnableLua = true,
            LuaOptions = new LuaOptions(),
            // Garnet runs scripts without locking their keys unless told to: two appends to one person's event log could
            // interleave (a later position in the log before an earlier one), as could any compare-and-set.
            LuaTransactionMode = true,
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

    /// <summary>StackExchange.Redis syntax, password included: never log it.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},password={_password}";

    public void Dispose()
    {
        // Garnet throws on a second Dispose.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // With a commit per write that nobody waits for, the last writes may still be in memory: a stop must not lose them.
            using (var commit = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            {
                _server.Store.CommitAOFAsync(commit.Token).AsTask().Wait(commit.Token);
            }

            _server.Dispose();
        }
    }

    /// <summary>Creates the folder for its owner only (0700), and closes one that already exists to everybody else.</summary>
    private static void CreatePrivateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, OwnerOnlyFolder);
        if (File.GetUnixFileMode(path) != OwnerOnlyFolder)
        {
            File.SetUnixFileMode(path, OwnerOnlyFolder);
        }
    }

    /// <summary>The password kept in <paramref name="path"/> (0600), or a new random one written there.</summary>
    private static string ReadOrCreatePassword(string path)
    {
        if (!File.Exists(path))
        {
            var created = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = OwnerOnlyFile;
                }

                using var writer = new StreamWriter(path, options);
                writer.Write(created);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process sharing the folder made it first: use theirs.
            }
        }

        if (!OperatingSystem.IsWindows() && File.GetUnixFileMode(path) != OwnerOnlyFile)
        {
            File.SetUnixFileMode(path, OwnerOnlyFile);
        }

        var password = File.ReadAllText(path).Trim();
        if (password.Length == 0 || password.Any(c => !char.IsAsciiLetterOrDigit(c)))
        {
            throw new InvalidOperationException(
                $"The embedded store's password file '{path}' is empty or holds other than letters and digits; delete it and a new one is made.");
        }

        return password;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
