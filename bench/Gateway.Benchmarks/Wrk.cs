using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace WebexGateway.Benchmarks;

/// <summary>One way to load a target: its URL, the headers every request carries and, optionally, a file of cookies.</summary>
internal sealed record WrkLoad(string Url, IReadOnlyList<string> Headers, string? CookieFile);

/// <summary>Runs wrk with <c>cookies.lua</c> (one request per cookie, in turn) and reads its report.</summary>
internal sealed class Wrk(int threads, int connections, string script)
{
    public int Threads { get; } = threads;

    public int Connections { get; } = connections;

    public WrkResult Run(WrkLoad load, int seconds)
    {
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in Arguments(load, seconds, script))
        {
            start.ArgumentList.Add(argument);
        }

        using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start");
        var error = wrk.StandardError.ReadToEndAsync();
        var output = wrk.StandardOutput.ReadToEnd();
        wrk.WaitForExit();
        if (wrk.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk exited with {wrk.ExitCode}: {error.Result}{output}");
        }

        return WrkResult.Parse(output);
    }

    /// <summary>The command line, for the report (<c>cookies.lua</c> as it is in the repository).</summary>
    public string CommandLine(WrkLoad load, int seconds, string scriptShown, string? cookieFileShown) =>
        string.Join(' ', Arguments(load with { CookieFile = load.CookieFile is null ? null : cookieFileShown }, seconds, scriptShown)
            .Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a)
            .Prepend("wrk"));

    private List<string> Arguments(WrkLoad load, int seconds, string scriptPath)
    {
        var arguments = new List<string> { $"-t{Threads}", $"-c{Connections}", $"-d{seconds}s", "--latency", "-s", scriptPath };
        foreach (var header in load.Headers)
        {
            arguments.Add("-H");
            arguments.Add(header);
        }

        arguments.Add(load.Url);
        if (load.CookieFile is not null)
        {
            arguments.Add("--");
            arguments.Add(load.CookieFile);
        }

        return arguments;
    }
}

/// <summary>What wrk reported. Latencies in milliseconds; errors are responses of 400 and above, and socket errors.</summary>
internal sealed partial record WrkResult(long Requests, double Seconds, double RequestsPerSecond, double P50, double P90, double P99, long Non2xx, long SocketErrors)
{
    public long Errors => Non2xx + SocketErrors;

    public static WrkResult Parse(string output)
    {
        double Latency(string percentile)
        {
            var match = Regex.Match(output, $@"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
            if (!match.Success)
            {
                throw new FormatException($"no {percentile}% latency in wrk's output:\n{output}");
            }

            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
        }

        var total = RequestsLine().Match(output);
        if (!total.Success)
        {
            throw new FormatException($"no request count in wrk's output:\n{output}");
        }

        var rps = double.Parse(RequestsPerSecondLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var non2xx = Non2xxLine().Match(output) is { Success: true } n ? long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socket = SocketErrorsLine().Match(output) is { Success: true } s
            ? s.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture))
            : 0;
        var seconds = double.Parse(total.Groups[2].Value, CultureInfo.InvariantCulture) * total.Groups[3].Value switch { "ms" => 0.001, "m" => 60, _ => 1 };
        return new WrkResult(long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture), seconds, rps, Latency("50"), Latency("90"), Latency("99"), non2xx, socket);
    }

    [GeneratedRegex(@"^\s*(\d+) requests in ([\d.]+)(ms|s|m),", RegexOptions.Multiline)]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecondLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xxLine();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsLine();
}
