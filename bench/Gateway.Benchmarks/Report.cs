using System.Globalization;
using System.Text;

namespace WebexGateway.Benchmarks;

/// <summary>The Markdown the benchmark prints: one table per store and scenario, the rounds behind it, and a summary.</summary>
internal static class Report
{
    public static string StoreTitle(Store store) => store switch
    {
        Store.Embedded => "embedded store (Garnet in the gateway process)",
        _ => "redis-server (a separate process)",
    };

    public static string Table(Store store, Scenario scenario, IReadOnlyList<TargetResults> targets)
    {
        var raw = targets.FirstOrDefault(t => t.Target.Kind == TargetKind.RawYarp);
        var withRedis = store == Store.Redis;
        var text = new StringBuilder();
        text.AppendLine(Invariant($"### {Capitalized(StoreTitle(store))}: {scenario.Title}"));
        text.AppendLine();
        text.AppendLine("| target | req/s | p50 | p99 | CPU µs/req | peak RSS | req/s vs raw YARP | CPU vs raw YARP | errors |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var target in targets)
        {
            var redisCpu = withRedis && target.Target.Kind == TargetKind.Gateway ? target.RedisCpu : null;
            var cpu = Invariant($"{target.Cpu:F1}") + (redisCpu is { } r ? Invariant($" + {r:F1} redis-server") : "");
            var rss = Mib(target.PeakRssBytes) + (withRedis && target.Target.Kind == TargetKind.Gateway && target.RedisPeakRssBytes is { } redisRss
                ? $" + {Mib(redisRss)} redis-server"
                : "");
            var rpsRatio = raw is null ? "" : Ratio(target.RequestsPerSecond / raw.RequestsPerSecond);
            var cpuRatio = raw is null ? "" : Ratio(target.Cpu / raw.Cpu)
                + (redisCpu is { } rc ? $" ({Ratio((target.Cpu + rc) / raw.Cpu)} with redis-server)" : "");
            var errors = target.Errors == 0 ? "0" : Invariant($"**{target.Errors:N0}** ⚠");
            text.AppendLine(Invariant(
                $"| {target.Target.Name} | {target.RequestsPerSecond:N0} | {Ms(target.P50)} | {Ms(target.P99)} | {cpu} | {rss} | {rpsRatio} | {cpuRatio} | {errors} |"));
        }

        text.AppendLine();
        text.AppendLine(OtherLoad(targets.SelectMany(t => t.Samples)));
        text.AppendLine();
        var rounds = targets.Max(t => t.Samples.Count);
        text.AppendLine(rounds == 1 ? "One round:" : Invariant($"Medians over {rounds} rounds. Each round, per target:"));
        text.AppendLine();
        text.AppendLine("| round | target | req/s | p50 | p99 | CPU µs/req | nginx CPU µs/req | redis-server CPU µs/req | errors | warm-up runs (req/s) | other load |");
        text.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        foreach (var sample in targets.SelectMany(t => t.Samples.Select(s => (t.Target, Sample: s))).OrderBy(x => x.Sample.Round))
        {
            var s = sample.Sample;
            var warmup = string.Join(", ", s.WarmupRequestsPerSecond.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))
                + (s.WarmupStable ? "" : " (not stable)");
            var upstreamCpu = sample.Target.Kind == TargetKind.Upstream ? "(the target)" : Invariant($"{s.UpstreamCpuMicrosecondsPerRequest:F1}");
            var redisCpu = s.RedisCpuMicrosecondsPerRequest is { } r ? Invariant($"{r:F1}") : "";
            text.AppendLine(Invariant(
                $"| {s.Round} | {sample.Target.Name} | {s.Wrk.RequestsPerSecond:N0} | {Ms(s.Wrk.P50)} | {Ms(s.Wrk.P99)} | {s.CpuMicrosecondsPerRequest:F1} | {upstreamCpu} | {redisCpu} | {s.Wrk.Non2xx:N0} non-2xx, {s.Wrk.SocketErrors:N0} socket | {warmup} | {s.OtherLoadPercent:F0}% |"));
        }

        text.AppendLine();
        return text.ToString();
    }

    /// <summary>One line per store and scenario: the gateway against raw YARP.</summary>
    public static string Summary(IReadOnlyList<(Store Store, Scenario Scenario, IReadOnlyList<TargetResults> Targets)> runs)
    {
        var text = new StringBuilder();
        text.AppendLine("## Summary: the gateway against raw YARP");
        text.AppendLine();
        text.AppendLine("| store | scenario | upstream req/s | raw YARP req/s | gateway req/s | gateway ÷ raw YARP req/s | raw YARP CPU µs/req | gateway CPU µs/req | gateway ÷ raw YARP CPU | raw YARP on the gateway's runtime settings, CPU µs/req | gateway ÷ that | p99 raw YARP / gateway | gateway peak RSS (raw YARP's) |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (store, scenario, targets) in runs)
        {
            var upstream = targets.FirstOrDefault(t => t.Target.Kind == TargetKind.Upstream);
            var raw = targets.FirstOrDefault(t => t.Target.Kind == TargetKind.RawYarp);
            var gateway = targets.FirstOrDefault(t => t.Target.Kind == TargetKind.Gateway);
            var rawTuned = targets.FirstOrDefault(t => t.Target.Kind == TargetKind.RawYarpGatewayRuntime);
            if (raw is null || gateway is null)
            {
                continue;
            }

            var redisCpu = store == Store.Redis ? gateway.RedisCpu : null;
            var gatewayCpu = Invariant($"{gateway.Cpu:F1}") + (redisCpu is { } r ? Invariant($" + {r:F1}") : "");
            var cpuRatio = Ratio(gateway.Cpu / raw.Cpu) + (redisCpu is { } rc ? $" ({Ratio((gateway.Cpu + rc) / raw.Cpu)})" : "");
            var rss = Mib(gateway.PeakRssBytes) + (store == Store.Redis && gateway.RedisPeakRssBytes is { } redisRss ? $" + {Mib(redisRss)}" : "");
            text.AppendLine(Invariant(
                $"| {store.ToString().ToLowerInvariant()} | {scenario.Title} | {upstream?.RequestsPerSecond ?? double.NaN:N0} | {raw.RequestsPerSecond:N0} | {gateway.RequestsPerSecond:N0} | {Ratio(gateway.RequestsPerSecond / raw.RequestsPerSecond)} | {raw.Cpu:F1} | {gatewayCpu} | {cpuRatio} | {(rawTuned is null ? "" : Invariant($"{rawTuned.Cpu:F1}"))} | {(rawTuned is null ? "" : Ratio(gateway.Cpu / rawTuned.Cpu))} | {Ms(raw.P99)} / {Ms(gateway.P99)} | {rss} ({Mib(raw.PeakRssBytes)}) |"));
        }

        text.AppendLine();
        text.AppendLine("With redis-server, \"+ n\" is redis-server's CPU µs/req and peak RSS, and the ratio in brackets counts it in.");
        text.AppendLine();
        text.AppendLine(OtherLoad(runs.SelectMany(r => r.Targets.SelectMany(t => t.Samples))));
        return text.ToString();
    }

    /// <summary>How busy the machine was with other work during the measured runs, and a warning when that was a lot.</summary>
    public static string OtherLoad(IEnumerable<Sample> samples)
    {
        var loads = samples.Select(s => s.OtherLoadPercent).ToList();
        if (loads.Count == 0)
        {
            return "";
        }

        var median = TargetResults.Median(loads);
        var line = Invariant($"Other processes used {median:F0}% of the machine's CPU during the measured runs (median; {loads.Min():F0}% to {loads.Max():F0}%).");
        return median > 10
            ? line + " **The machine was shared: req/s and latencies are noisy; CPU µs/req is the steadier figure.**"
            : line;
    }

    public static string Ms(double milliseconds) => milliseconds < 10 ? Invariant($"{milliseconds:F2} ms") : Invariant($"{milliseconds:F1} ms");

    public static string Mib(long bytes) => Invariant($"{bytes / (1024.0 * 1024.0):F0} MiB");

    public static string Ratio(double ratio) => double.IsFinite(ratio) ? Invariant($"{ratio:F2}×") : "n/a";

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
