using System.Globalization;

namespace WebexGateway.Transfers;

/// <summary>A process's resident memory from /proc/&lt;pid&gt;/status, sampled while something runs.</summary>
internal sealed class Rss(int pid)
{
    public long Peak { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Peak = Math.Max(Peak, Current(pid));
            try
            {
                await Task.Delay(10, stop);
            }
            catch (OperationCanceledException)
            {
            }
        }

        Peak = Math.Max(Peak, Current(pid));
    }

    /// <summary><c>VmRSS</c> in bytes.</summary>
    public static long Current(int pid) => Field(pid, "VmRSS:");

    /// <summary><c>VmHWM</c> in bytes: the most the process has had resident.</summary>
    public static long HighWaterMark(int pid) => Field(pid, "VmHWM:");

    public static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:F1} MiB";

    private static long Field(int pid, string name)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return long.Parse(line[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
