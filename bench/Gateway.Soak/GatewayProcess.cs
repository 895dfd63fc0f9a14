using System.Diagnostics;

namespace WebexGateway.Soak;

/// <summary>One published gateway as a child process (Production, like a deployment), its log kept in a file.</summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private int _warnings;
    private int _errors;

    private GatewayProcess(string name, Uri url, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        Url = url;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }

    public Uri Url { get; }

    public string LogPath { get; }

    public int Warnings => Volatile.Read(ref _warnings);

    /// <summary>Log lines at error or critical level (<c>fail:</c>, <c>crit:</c>).</summary>
    public int Errors => Volatile.Read(ref _errors);

    public bool HasExited => _process.HasExited;

    public int ProcessId => _process.Id;

    public static GatewayProcess Start(string name, string gatewayDll, int port, string webex, string clientId, string clientSecret, string redis, string keyPrefix, string logDirectory)
    {
        var url = $"http://127.0.0.1:{port}";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(gatewayDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Webex__ClientSecret"] = clientSecret,
                ["Logging__Console__FormatterName"] = "simple",
            },
        };
        foreach (var argument in new[]
        {
            gatewayDll, "--urls", url,
            $"--Webex:BaseUrl={webex}", $"--Webex:ClientId={clientId}", $"--Webex:RedirectUri={url}/auth/callback",
            $"--Redis:ConnectionString={redis}", $"--Redis:KeyPrefix={keyPrefix}",
            // Every simulated user signs in from 127.0.0.1: far beyond what one real address is allowed.
            "--Gateway:SignInLimit:PermitLimit=1000000",
            $"--Logging:LogLevel:Default={Environment.GetEnvironmentVariable("SOAK_GATEWAY_LOG_LEVEL") ?? "Warning"}",
            "--Logging:Console:FormatterOptions:TimestampFormat=HH:mm:ss.fff ",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var logPath = Path.Combine(logDirectory, $"{name}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("the gateway did not start");
        var gateway = new GatewayProcess(name, new Uri(url), process, log, logPath);
        process.OutputDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return gateway;
    }

    public async Task WaitForReadyAsync(HttpClient http)
    {
        for (var i = 0; i < 150; i++)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}; see {LogPath}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Url, "/readyz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{Name} did not become ready; see {LogPath}");
    }

    /// <summary>The last log lines at error level, for the report.</summary>
    public IReadOnlyList<string> ErrorExcerpt(int max)
    {
        lock (_logGate)
        {
            _log.Flush();
        }

        using var reader = new StreamReader(new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var lines = reader.ReadToEnd().Split('\n');
        var excerpt = new List<string>();
        for (var i = 0; i < lines.Length && excerpt.Count < max; i++)
        {
            if (lines[i].Contains(" fail: ", StringComparison.Ordinal) || lines[i].Contains(" crit: ", StringComparison.Ordinal)
                || lines[i].StartsWith("fail:", StringComparison.Ordinal) || lines[i].StartsWith("crit:", StringComparison.Ordinal))
            {
                excerpt.Add(lines[i].TrimEnd() + (i + 1 < lines.Length ? " " + lines[i + 1].Trim() : ""));
            }
        }

        return excerpt;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        lock (_logGate)
        {
            _log.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        var level = line.Length > 13 && line[2] == ':' && line[12] == ' ' ? line[13..] : line; // after the timestamp
        if (level.StartsWith("warn:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _warnings);
        }
        else if (level.StartsWith("fail:", StringComparison.Ordinal) || level.StartsWith("crit:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _errors);
        }

        lock (_logGate)
        {
            _log.WriteLine(line);
        }
    }
}
