using System.Diagnostics;

namespace WebexGateway.Benchmarks;

internal enum TargetKind
{
    Upstream,
    RawYarp,

    /// <summary>Raw YARP run with the gateway's runtime settings (its runtimeconfig.json: GC, thread pool): like for like.</summary>
    RawYarpGatewayRuntime,
    Gateway,
}

/// <summary>What is measured: how wrk loads it, and the processes whose CPU is its cost.</summary>
internal sealed record Target(TargetKind Kind, string Name, WrkLoad Load, Func<IReadOnlyList<int>> Pids);

/// <summary>One measured run of one target, after its warm-up.</summary>
internal sealed record Sample(
    int Round,
    WrkResult Wrk,
    double CpuMicrosecondsPerRequest,
    double UpstreamCpuMicrosecondsPerRequest,
    double? RedisCpuMicrosecondsPerRequest,
    double OtherLoadPercent,
    IReadOnlyList<double> WarmupRequestsPerSecond,
    bool WarmupStable);

/// <summary>Every round of one target in one scenario, and its peak RSS at the end.</summary>
internal sealed class TargetResults(Target target)
{
    public Target Target { get; } = target;

    public List<Sample> Samples { get; } = [];

    public long PeakRssBytes { get; set; }

    public long? RedisPeakRssBytes { get; set; }

    public double RequestsPerSecond => Median(Samples.Select(s => s.Wrk.RequestsPerSecond));

    public double P50 => Median(Samples.Select(s => s.Wrk.P50));

    public double P99 => Median(Samples.Select(s => s.Wrk.P99));

    public double Cpu => Median(Samples.Select(s => s.CpuMicrosecondsPerRequest));

    public double? RedisCpu => Samples.All(s => s.RedisCpuMicrosecondsPerRequest is not null)
        ? Median(Samples.Select(s => s.RedisCpuMicrosecondsPerRequest!.Value))
        : null;

    public long Errors => Samples.Sum(s => s.Wrk.Errors);

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>
/// Warms a target up until its throughput is stable, then measures one wrk run and, from /proc, the CPU time its
/// processes spent on it.
/// </summary>
internal sealed class Measurer(Settings settings, Wrk wrk, Func<IReadOnlyList<int>> upstreamPids, Func<IReadOnlyList<int>> allOurPids)
{
    private static readonly long Start = Stopwatch.GetTimestamp();

    /// <param name="minimumWarmup">
    /// Warm-up time before stability counts: a freshly started .NET process keeps getting faster for tens of seconds
    /// while tiered compilation replaces its code, slowly enough at first that two short runs in a row can look stable.
    /// </param>
    public Sample Measure(Target target, int round, int distinctCookies, int? redisPid, TimeSpan minimumWarmup)
    {
        // Warm-up: short runs until the minimum time has passed, two runs in a row are within the tolerance, and every
        // cookie has been sent at least once; at most WarmupMaxRuns runs after the minimum time.
        var warmup = new List<double>();
        long warmupRequests = 0;
        var stable = false;
        var clock = Stopwatch.StartNew();
        var runsAfterMinimum = 0;
        while (runsAfterMinimum < settings.WarmupMaxRuns)
        {
            var pastMinimum = clock.Elapsed >= minimumWarmup;
            var run = wrk.Run(target.Load, settings.WarmupSeconds);
            warmup.Add(run.RequestsPerSecond);
            warmupRequests += run.Requests;
            if (!pastMinimum)
            {
                continue;
            }

            runsAfterMinimum++;
            if (Settled(warmup) && warmupRequests >= distinctCookies)
            {
                stable = true;
                break;
            }
        }

        var targetPids = target.Pids();
        var upstream = upstreamPids();
        var ours = allOurPids();
        var before = Snapshot(targetPids, upstream, redisPid, ours);
        var result = wrk.Run(target.Load, settings.Seconds);
        var after = Snapshot(targetPids, upstream, redisPid, ours);

        double PerRequest(long ticks) => result.Requests == 0 ? double.NaN : ticks * ProcFs.MicrosecondsPerTick / result.Requests;
        var capacity = (after.Clock - before.Clock).TotalSeconds * ProcFs.TicksPerSecond * Environment.ProcessorCount;
        var other = (after.MachineBusy - before.MachineBusy) - (after.Ours - before.Ours);
        return new Sample(
            round,
            result,
            PerRequest(after.Target - before.Target),
            PerRequest(after.Upstream - before.Upstream),
            redisPid is null ? null : PerRequest(after.Redis - before.Redis),
            Math.Max(0, 100.0 * other / capacity),
            warmup,
            stable);
    }

    /// <summary>
    /// The last two runs are within the tolerance of each other, and the last is not above the one three runs before it
    /// by more than the tolerance: a slow climb (code still being recompiled) is not taken for a plateau.
    /// </summary>
    private bool Settled(List<double> runs)
    {
        var tolerance = settings.WarmupTolerance;
        return runs.Count >= 2
            && Math.Abs(runs[^1] - runs[^2]) <= tolerance * runs[^2]
            && (runs.Count < 4 || runs[^1] <= runs[^4] * (1 + tolerance));
    }

    private static Ticks Snapshot(IReadOnlyList<int> target, IReadOnlyList<int> upstream, int? redis, IReadOnlyList<int> ours) => new(
        target.Sum(ProcFs.CpuTicks),
        upstream.Sum(ProcFs.CpuTicks),
        redis is { } pid ? ProcFs.CpuTicks(pid) : 0,
        ours.Distinct().Sum(ProcFs.CpuTicks) + ProcFs.SelfAndReapedChildrenTicks(),
        ProcFs.MachineBusyTicks(),
        Stopwatch.GetElapsedTime(Start));

    private sealed record Ticks(long Target, long Upstream, long Redis, long Ours, long MachineBusy, TimeSpan Clock);
}
