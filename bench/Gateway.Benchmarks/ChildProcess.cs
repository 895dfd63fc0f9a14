using System.Diagnostics;
using System.Globalization;

namespace WebexGateway.Benchmarks;

/// <summary>A process the benchmark started: its output kept in a log file, stopped by its pid (a signal, then a kill).</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();

    private ChildProcess(string name, Process process, StreamWriter log, string logPath, string stopSignal)
    {
        Name = name;
        StopSignal = stopSignal;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    /// <summary>The signal that asks this program to shut down cleanly (nginx: QUIT; most others: TERM).</summary>
    public string StopSignal { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Every child the benchmark has running, so Ctrl-C can stop them all by pid.</summary>
    public static List<ChildProcess> Running { get; } = [];

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, string logPath,
        string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, string stopSignal = "TERM")
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start");
        var child = new ChildProcess(name, process, log, logPath, stopSignal);
        process.OutputDataReceived += (_, e) => child.Write(e.Data);
        process.ErrorDataReceived += (_, e) => child.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (Running)
        {
            Running.Add(child);
        }

        return child;
    }

    /// <summary>Waits until <paramref name="url"/> answers 2xx; fails early when the process exits.</summary>
    public async Task WaitForHttpAsync(HttpClient http, Uri url, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}; see {LogPath}");
            }

            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Name} did not answer {url} within {timeout.TotalSeconds:F0} s; see {LogPath}");
    }

    public static IReadOnlyList<int> RunningPids()
    {
        lock (Running)
        {
            return Running.Where(c => !c.HasExited).Select(c => c.Pid).ToList();
        }
    }

    /// <summary>Stops every child still running, each by its pid and its own stop signal.</summary>
    public static async Task StopAllAsync()
    {
        List<ChildProcess> running;
        lock (Running)
        {
            running = [.. Running];
        }

        foreach (var child in running)
        {
            await child.StopAsync(child.StopSignal, 10);
        }
    }

    /// <summary>Sends <paramref name="signal"/> to the pid and waits; kills the process when it has not exited in time.</summary>
    public async Task StopAsync(string signal = "TERM", int timeoutSeconds = 30)
    {
        lock (Running)
        {
            if (!Running.Contains(this))
            {
                return;
            }
        }

        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"[bench] {Name} did not stop within {timeoutSeconds} s of SIG{signal}: killing pid {_process.Id}");
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }

        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        lock (Running)
        {
            if (!Running.Remove(this))
            {
                return;
            }
        }

        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        lock (_logGate)
        {
            _log.Dispose();
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logGate)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
