using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using StackExchange.Redis;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on 127.0.0.1 that speaks only TLS (no plain port), with a certificate for <c>localhost</c>
/// and 127.0.0.1 issued by a CA made for the occasion, the <c>default</c> user switched off, an <c>admin</c> user for the
/// test, and the ACL users given. The process is a child of the test run, stopped by its pid in <see cref="Dispose"/>.
/// </summary>
public sealed class TlsRedisServer : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;

    private TlsRedisServer(string directory, int port, string adminPassword, Process process)
    {
        Directory = directory;
        Port = port;
        AdminPassword = adminPassword;
        _process = process;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Directory { get; }

    public int Port { get; }

    public string AdminPassword { get; }

    /// <summary>The CA that issued the server's certificate (PEM): what a client must trust.</summary>
    public string CaCertificatePath => Path.Combine(Directory, "ca.crt");

    /// <summary>What redis-server wrote.</summary>
    public ConcurrentQueue<string> Output { get; } = new();

    /// <summary>Starts redis-server with TLS only and these ACL lines (<c>user name on &gt;password ...</c>).</summary>
    public static async Task<TlsRedisServer> StartAsync(params string[] aclUsers)
    {
        var binary = SystemBinaries.Require("redis-server", SystemBinaries.RedisServerInstall);
        var directory = TempDirectory.Create("redis-tls");
        WriteCertificates(directory);
        var port = LoopbackPorts.Free();
        var adminPassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        File.WriteAllLines(Path.Combine(directory, "users.acl"),
        [
            "user default off",
            $"user admin on >{adminPassword} ~* &* +@all",
            .. aclUsers,
        ]);
        File.WriteAllText(Path.Combine(directory, "redis.conf"), string.Join('\n',
            "port 0",
            $"tls-port {port}",
            "bind 127.0.0.1",
            $"dir {directory}",
            $"tls-cert-file {Path.Combine(directory, "server.crt")}",
            $"tls-key-file {Path.Combine(directory, "server.key")}",
            $"tls-ca-cert-file {Path.Combine(directory, "ca.crt")}",
            "tls-auth-clients no",
            $"aclfile {Path.Combine(directory, "users.acl")}",
            "acllog-max-len 1000",
            "daemonize no",
            "logfile \"\"",
            "save \"\"",
            "appendonly no",
            ""));
        var start = new ProcessStartInfo(binary)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(directory, "redis.conf"));
        var server = new TlsRedisServer(directory, port, adminPassword, Process.Start(start)!);
        try
        {
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>A connection string for <paramref name="user"/> over TLS (the CA trusted through <c>Redis:CaCertificatePath</c>).</summary>
    public string ConnectionString(string user, string password) =>
        $"127.0.0.1:{Port},ssl=true,sslHost=localhost,user={user},password={password}";

    /// <summary>A connection as the admin user, for the test to look around.</summary>
    public ConnectionMultiplexer ConnectAdmin()
    {
        var options = ConfigurationOptions.Parse(ConnectionString("admin", AdminPassword) + ",allowAdmin=true");
        options.TrustIssuer(CaCertificatePath);
        return ConnectionMultiplexer.Connect(options);
    }

    public void Dispose()
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

        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}:\n{string.Join('\n', Output)}");
            }

            if (Output.Any(line => line.Contains("Ready to accept connections", StringComparison.Ordinal)))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"redis-server did not start within {StartTimeout.TotalSeconds:0} s:\n{string.Join('\n', Output)}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A CA, and a server certificate it issued for localhost and 127.0.0.1, as PEM files redis-server reads.</summary>
    private static void WriteCertificates(string directory)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=webex-gateway test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = serverRequest.Create(ca, now.AddDays(-1), now.AddMonths(1), RandomNumberGenerator.GetBytes(16));

        File.WriteAllText(Path.Combine(directory, "ca.crt"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server.crt"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
    }

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
