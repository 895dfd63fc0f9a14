using System.Globalization;

namespace WebexGateway.Benchmarks;

internal enum Store
{
    /// <summary>Garnet inside the gateway process (<c>Redis:ConnectionString</c> empty).</summary>
    Embedded,

    /// <summary>A redis-server process started by the benchmark.</summary>
    Redis,
}

/// <summary>One load shape: how many distinct signed-in users the requests cycle through.</summary>
internal sealed record Scenario(string Key, int Users, string Title);

/// <summary>The command line and the <c>BENCH_*</c> environment variables, with their defaults.</summary>
internal sealed record Settings(
    string GatewayDll,
    string RawYarpDll,
    int Seconds,
    int Connections,
    int Threads,
    int Rounds,
    int WarmupSeconds,
    int WarmupFirstSeconds,
    int WarmupMaxRuns,
    double WarmupTolerance,
    IReadOnlyList<Store> Stores,
    IReadOnlyList<Scenario> Scenarios,
    int SignInParallelism,
    bool KeepTemp,
    string Command,
    int PermitsPerMinute)
{
    public const string Usage = "usage: Gateway.Benchmarks <published Gateway.dll> <published RawYarp.dll> [seconds] [connections]";

    public static string Help => $$"""
        {{Usage}}
        Environment (defaults in brackets):
          BENCH_STORES          embedded,redis    which stores the gateway runs with
          BENCH_SCENARIOS       one,users,sessions
          BENCH_USERS           [1000]   distinct users of the 'users' scenario (round-robin)
          BENCH_SESSIONS        [10000]  signed-in sessions of the 'sessions' scenario (all touched, round-robin)
          BENCH_ROUNDS          [3]      rounds of upstream, raw YARP, gateway; the report gives medians
          BENCH_THREADS         [1]      wrk threads
          BENCH_WARMUP_SECONDS  [3]      length of one warm-up run
          BENCH_WARMUP_FIRST_SECONDS [30] warm-up of raw YARP and the gateway before stability counts, in round 1
          BENCH_WARMUP_RUNS     [8]      at most this many warm-up runs per target and round (after that time)
          BENCH_WARMUP_TOLERANCE [0.05]  warm-up ends when two runs in a row are this close in req/s
          BENCH_SIGNIN_PARALLEL [16]     sign-ins under way at once
          BENCH_KEEP            [0]      1 keeps the temporary directory (logs, configuration, cookies)
          BENCH_PERMITS_PER_MINUTE [0]   the gateway's Gateway:RateLimit:PermitsPerMinute (0: the per-person limit off)
        """;

    public static Settings Parse(string[] args)
    {
        if (args.Length < 2 || args.Contains("--help") || args.Contains("-h"))
        {
            throw new ArgumentException(Help);
        }

        var users = Int("BENCH_USERS", 1000);
        var sessions = Int("BENCH_SESSIONS", 10_000);
        Scenario[] known =
        [
            new("one", 1, "one user"),
            new("users", users, $"{users:N0} users round-robin"),
            new("sessions", sessions, $"{sessions:N0} signed-in sessions, all touched round-robin"),
        ];
        var scenarios = List("BENCH_SCENARIOS", "one,users,sessions")
            .Select(key => known.FirstOrDefault(s => s.Key == key) ?? throw new ArgumentException($"BENCH_SCENARIOS: unknown '{key}' (one, users, sessions)"))
            .ToList();
        var stores = List("BENCH_STORES", "embedded,redis")
            .Select(key => key switch
            {
                "embedded" => Store.Embedded,
                "redis" => Store.Redis,
                _ => throw new ArgumentException($"BENCH_STORES: unknown '{key}' (embedded, redis)"),
            })
            .ToList();

        return new Settings(
            Path.GetFullPath(args[0]),
            Path.GetFullPath(args[1]),
            args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10,
            args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 32,
            Int("BENCH_THREADS", 1),
            Int("BENCH_ROUNDS", 3),
            Int("BENCH_WARMUP_SECONDS", 3),
            Int("BENCH_WARMUP_FIRST_SECONDS", 30),
            Int("BENCH_WARMUP_RUNS", 8),
            double.Parse(Environment.GetEnvironmentVariable("BENCH_WARMUP_TOLERANCE") ?? "0.05", CultureInfo.InvariantCulture),
            stores,
            scenarios,
            Int("BENCH_SIGNIN_PARALLEL", 16),
            Environment.GetEnvironmentVariable("BENCH_KEEP") == "1",
            Environment.GetEnvironmentVariable("BENCH_COMMAND") ?? $"Gateway.Benchmarks {string.Join(' ', args)}",
            Int("BENCH_PERMITS_PER_MINUTE", 0));
    }

    /// <summary>Every setting as the environment variables that reproduce it.</summary>
    public string Describe() => string.Join(' ',
        $"BENCH_STORES={string.Join(',', Stores.Select(s => s.ToString().ToLowerInvariant()))}",
        $"BENCH_SCENARIOS={string.Join(',', Scenarios.Select(s => s.Key))}",
        $"BENCH_USERS={Environment.GetEnvironmentVariable("BENCH_USERS") ?? "1000"}",
        $"BENCH_SESSIONS={Environment.GetEnvironmentVariable("BENCH_SESSIONS") ?? "10000"}",
        $"BENCH_ROUNDS={Rounds}",
        $"BENCH_THREADS={Threads}",
        $"BENCH_WARMUP_SECONDS={WarmupSeconds}",
        $"BENCH_WARMUP_FIRST_SECONDS={WarmupFirstSeconds}",
        $"BENCH_WARMUP_RUNS={WarmupMaxRuns}",
        $"BENCH_WARMUP_TOLERANCE={WarmupTolerance.ToString(CultureInfo.InvariantCulture)}",
        $"BENCH_PERMITS_PER_MINUTE={PermitsPerMinute}");

    private static int Int(string name, int fallback)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(value))
        {
            return fallback;
        }

        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) && parsed > 0
            ? parsed
            : throw new ArgumentException($"{name} must be a positive whole number (got '{value}')");
    }

    private static IEnumerable<string> List(string name, string fallback) =>
        (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : fallback)
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(v => v.ToLowerInvariant())
        .Distinct();
}
