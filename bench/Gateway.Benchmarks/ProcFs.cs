using System.Diagnostics;
using System.Globalization;

namespace WebexGateway.Benchmarks;

/// <summary>What /proc says: CPU time of processes and of the whole machine (in clock ticks), and peak RSS.</summary>
internal static class ProcFs
{
    /// <summary>Clock ticks per second (<c>getconf CLK_TCK</c>): the unit of /proc/&lt;pid&gt;/stat and /proc/stat.</summary>
    public static long TicksPerSecond { get; } = ReadClockTicks();

    public static double MicrosecondsPerTick => 1_000_000.0 / TicksPerSecond;

    /// <summary>utime + stime of the process (all its threads), in clock ticks; 0 when it is gone.</summary>
    public static long CpuTicks(int pid)
    {
        var fields = StatFields(pid);
        return fields is null ? 0 : Long(fields[11]) + Long(fields[12]);
    }

    /// <summary>
    /// utime + stime of this process and cutime + cstime of its children that were waited for: the driver and every wrk
    /// run that has ended.
    /// </summary>
    public static long SelfAndReapedChildrenTicks()
    {
        var fields = StatFields(Environment.ProcessId)!;
        return Long(fields[11]) + Long(fields[12]) + Long(fields[13]) + Long(fields[14]);
    }

    /// <summary><c>VmHWM</c>: the most resident memory the process has had, in bytes; 0 when it is gone.</summary>
    public static long PeakRssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return Long(line["VmHWM:".Length..].Trim().Split(' ')[0]) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>The direct children of a process (such as nginx's workers).</summary>
    public static IReadOnlyList<int> Children(int pid)
    {
        var children = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var path = Path.Combine(task, "children");
                if (File.Exists(path))
                {
                    children.AddRange(File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => (int)Long(c)));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return children.Distinct().ToList();
    }

    /// <summary>Busy ticks of the whole machine, all CPUs summed: everything but idle and iowait.</summary>
    public static long MachineBusyTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal ...
        return Long(fields[1]) + Long(fields[2]) + Long(fields[3]) + Long(fields[6]) + Long(fields[7]) + Long(fields[8]);
    }

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    public static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    private static string[]? StatFields(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The command name is in parentheses and may hold spaces: the fields start after the last ')', with state (field 3)
        // first, so utime (field 14) is at index 11.
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    private static long Long(string value) => long.Parse(value, CultureInfo.InvariantCulture);

    private static long ReadClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true })!;
            var output = getconf.StandardOutput.ReadToEnd().Trim();
            getconf.WaitForExit();
            return long.Parse(output, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or FormatException)
        {
            return 100;
        }
    }
}
