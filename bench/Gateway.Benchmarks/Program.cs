using System.Diagnostics;
using System.Globalization;
using Webex.Emulator;
using WebexGateway.Benchmarks;

// The gateway beside raw YARP and the upstream alone, in one run on one machine, everything on 127.0.0.1:
//   1. upstream alone: wrk → nginx (a fixed Webex person at /v1/people/me);
//   2. raw YARP:       wrk → bench/RawYarp (YARP defaults, a static Bearer) → nginx;
//   3. raw YARP again, started on the gateway's runtimeconfig.json and its image's DOTNET_ variables: like for like;
//   4. gateway:        wrk → gateway (session cookie, X-CSRF: 1; the user's Bearer from its grant) → nginx,
// for each store (embedded Garnet, redis-server) and each scenario (one user; many users round-robin; many sessions),
// each warmed up until stable, interleaved over rounds, with CPU per request and peak RSS from /proc.
// Users sign in through the Webex emulator with a first gateway process; a second one, on the same store, sends the
// measured calls to nginx (Webex:ApiUrl). Progress goes to stderr, the Markdown report to stdout.
//   dotnet run -c Release --project bench/Gateway.Benchmarks -- <Gateway.dll> <RawYarp.dll> [seconds] [connections]

Settings settings;
try
{
    settings = Settings.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

string[] tools = settings.Stores.Contains(Store.Redis) ? ["wrk", "nginx", "redis-server"] : ["wrk", "nginx"];
foreach (var tool in tools)
{
    if (Tools.Find(tool) is null)
    {
        Console.Error.WriteLine($"{tool} is needed: apt-get install -y wrk nginx redis-server");
        return 2;
    }
}

const string ClientId = "bench-client";
const string ClientSecret = "bench-secret";
const string RawYarpToken = "raw-yarp-static-token";
const string UpstreamToken = "upstream-static-token";

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var temp = Directory.CreateTempSubdirectory("gateway-bench-").FullName;
var keepTemp = settings.KeepTemp;
using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, UseProxy = false })
{
    Timeout = TimeSpan.FromSeconds(30),
};
var imageEnvironment = ImageEnvironment.Read();
var wrk = new Wrk(settings.Threads, settings.Connections, Path.Combine(AppContext.BaseDirectory, "cookies.lua"));

var emulatorOptions = new WebexEmulatorOptions { RoomCount = 0 };
emulatorOptions.Clients.Add(new EmulatorClient(ClientId, ClientSecret));
emulatorOptions.AddGeneratedPeople(settings.Scenarios.Max(s => s.Users));
var people = emulatorOptions.People.ToList();

WebexEmulator? emulator = null;
var clock = Stopwatch.StartNew();
var runs = new List<(Store Store, Scenario Scenario, IReadOnlyList<TargetResults> Targets)>();
try
{
    emulator = await WebexEmulator.StartAsync(emulatorOptions);
    emulator.State.RecordRequests = false;
    var webex = emulator.BaseUrl.ToString().TrimEnd('/');
    var nginx = await NginxUpstream.StartAsync(Path.Combine(temp, "nginx"), http);
    var measurer = new Measurer(settings, wrk, () => nginx.Pids, () => [.. nginx.Pids, .. ChildProcess.RunningPids()]);

    Console.WriteLine(Header(settings, wrk, imageEnvironment));
    foreach (var store in settings.Stores)
    {
        foreach (var scenario in settings.Scenarios)
        {
            cancel.Token.ThrowIfCancellationRequested();
            var targets = await RunScenarioAsync(store, scenario);
            runs.Add((store, scenario, targets));
            Console.WriteLine(Report.Table(store, scenario, targets));
        }
    }

    Console.WriteLine(Report.Summary(runs));
    var errors = runs.Sum(r => r.Targets.Sum(t => t.Errors));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"Finished in {clock.Elapsed.TotalMinutes:F1} min; load average at the end: {ProcFs.LoadAverage()}."));
    if (errors > 0)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"**⚠ {errors:N0} REQUESTS FAILED (non-2xx or socket errors) during measured runs: these figures are not valid. See the errors columns.**"));
        Console.Error.WriteLine($"[bench] ⚠ {errors:N0} requests failed during measured runs; logs kept in {temp}");
        keepTemp = true;
        return 1;
    }

    await nginx.StopAsync();
    return 0;

    async Task<IReadOnlyList<TargetResults>> RunScenarioAsync(Store store, Scenario scenario)
    {
        var name = $"{store.ToString().ToLowerInvariant()}, {scenario.Key}";
        var directory = Path.Combine(temp, $"{store.ToString().ToLowerInvariant()}-{scenario.Key}");
        Directory.CreateDirectory(directory);
        var redis = store == Store.Redis ? await RedisServer.StartAsync(Path.Combine(directory, "redis")) : null;
        var gatewayStore = new[]
        {
            $"--Redis:ConnectionString={redis?.ConnectionString ?? ""}",
            $"--Redis:DataDirectory={Path.Combine(directory, "garnet")}",
            "--Redis:KeyPrefix=bench:",
        };

        // 1. Sign the users in through a gateway whose Webex is the emulator, then stop it (cleanly: the embedded store
        //    keeps its data on disk). Sessions, grants and the Data Protection key ring stay in the store.
        Log($"{name}: signing in {scenario.Users:N0} users");
        var signInUrl = $"http://127.0.0.1:{Ports.Free()}";
        var signIn = StartGateway("gateway-signin", signInUrl, null, gatewayStore, directory);
        await signIn.WaitForHttpAsync(http, new Uri($"{signInUrl}/readyz"), TimeSpan.FromSeconds(60));
        var signInClock = Stopwatch.StartNew();
        var cookies = await SignIns.RunAsync(new Uri(signInUrl), people.Take(scenario.Users).ToList(), settings.SignInParallelism, cancel.Token);
        Log(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {cookies.Length:N0} signed in in {signInClock.Elapsed.TotalSeconds:F1} s ({cookies.Length / signInClock.Elapsed.TotalSeconds:F0}/s)"));
        await signIn.StopAsync("TERM", 60);
        var cookieFile = Path.Combine(directory, "cookies.txt");
        await File.WriteAllLinesAsync(cookieFile, cookies);

        // 2. The measured processes: the gateway again on the same store, its /webex/* upstream nginx; raw YARP.
        var gatewayUrl = $"http://127.0.0.1:{Ports.Free()}";
        var gateway = StartGateway("gateway", gatewayUrl, nginx.Url, gatewayStore, directory);
        var rawYarpUrl = $"http://127.0.0.1:{Ports.Free()}";
        var rawYarp = ChildProcess.Start("raw-yarp", "dotnet",
            [
                settings.RawYarpDll, "--urls", rawYarpUrl, $"--Upstream={nginx.Url}", $"--StaticToken={RawYarpToken}",
                "--Logging:LogLevel:Default=Warning",
            ],
            Path.Combine(directory, "raw-yarp.log"),
            Path.GetDirectoryName(settings.RawYarpDll),
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        // The same raw YARP on the gateway's runtimeconfig.json and its image's DOTNET_ variables: what raw YARP costs with
        // the gateway's GC and thread-pool settings, so that what the settings save is not counted as the gateway's code
        // being cheaper.
        var rawYarpTunedUrl = $"http://127.0.0.1:{Ports.Free()}";
        var rawYarpTuned = ChildProcess.Start("raw-yarp-gateway-runtime", "dotnet",
            [
                "exec", "--runtimeconfig", Path.ChangeExtension(settings.GatewayDll, ".runtimeconfig.json"),
                settings.RawYarpDll, "--urls", rawYarpTunedUrl, $"--Upstream={nginx.Url}", $"--StaticToken={RawYarpToken}",
                "--Logging:LogLevel:Default=Warning",
            ],
            Path.Combine(directory, "raw-yarp-gateway-runtime.log"),
            Path.GetDirectoryName(settings.RawYarpDll),
            new Dictionary<string, string>(imageEnvironment) { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        await gateway.WaitForHttpAsync(http, new Uri($"{gatewayUrl}/readyz"), TimeSpan.FromSeconds(60));
        await rawYarp.WaitForHttpAsync(http, new Uri($"{rawYarpUrl}/webex/v1/people/me"), TimeSpan.FromSeconds(60));
        await rawYarpTuned.WaitForHttpAsync(http, new Uri($"{rawYarpTunedUrl}/webex/v1/people/me"), TimeSpan.FromSeconds(60));
        await VerifyAsync(nginx.Url, gatewayUrl, rawYarpUrl, cookies);

        Target[] targets =
        [
            new(TargetKind.Upstream, "upstream alone (nginx)",
                new WrkLoad($"{nginx.Url}/v1/people/me", [$"Authorization: Bearer {UpstreamToken}"], null), () => nginx.Pids),
            new(TargetKind.RawYarp, "raw YARP → nginx",
                new WrkLoad($"{rawYarpUrl}/webex/v1/people/me", ["X-CSRF: 1"], cookieFile), () => [rawYarp.Pid]),
            new(TargetKind.RawYarpGatewayRuntime, "raw YARP, gateway's runtime settings → nginx",
                new WrkLoad($"{rawYarpTunedUrl}/webex/v1/people/me", ["X-CSRF: 1"], cookieFile), () => [rawYarpTuned.Pid]),
            new(TargetKind.Gateway, "gateway → nginx",
                new WrkLoad($"{gatewayUrl}/webex/v1/people/me", ["X-CSRF: 1"], cookieFile), () => [gateway.Pid]),
        ];
        var results = targets.Select(t => new TargetResults(t)).ToList();
        for (var round = 1; round <= settings.Rounds; round++)
        {
            foreach (var result in results)
            {
                cancel.Token.ThrowIfCancellationRequested();
                // The processes are new in every scenario: the .NET ones get the long first warm-up (JIT) in round 1.
                var minimumWarmup = round == 1 && result.Target.Kind != TargetKind.Upstream ? TimeSpan.FromSeconds(settings.WarmupFirstSeconds) : TimeSpan.Zero;
                var sample = measurer.Measure(result.Target, round, cookies.Length, result.Target.Kind == TargetKind.Gateway ? redis?.Pid : null, minimumWarmup);
                result.Samples.Add(sample);
                var redisCpu = sample.RedisCpuMicrosecondsPerRequest is { } r ? FormattableString.Invariant($" + {r:F1} redis-server") : "";
                var warmup = sample.WarmupStable ? "" : " (not stable)";
                var failures = sample.Wrk.Errors > 0
                    ? FormattableString.Invariant($", ⚠ {sample.Wrk.Non2xx:N0} non-2xx and {sample.Wrk.SocketErrors:N0} socket errors")
                    : "";
                Log(FormattableString.Invariant(
                    $"{name}, round {round}/{settings.Rounds}, {result.Target.Name}: {sample.Wrk.RequestsPerSecond:N0} req/s, p50 {Report.Ms(sample.Wrk.P50)}, p99 {Report.Ms(sample.Wrk.P99)}, {sample.CpuMicrosecondsPerRequest:F1}{redisCpu} CPU µs/req, {sample.WarmupRequestsPerSecond.Count} warm-up runs{warmup}, other load {sample.OtherLoadPercent:F0}%{failures}"));
            }
        }

        foreach (var result in results)
        {
            result.PeakRssBytes = result.Target.Pids().Sum(ProcFs.PeakRssBytes);
        }

        if (redis is not null)
        {
            results.Single(r => r.Target.Kind == TargetKind.Gateway).RedisPeakRssBytes = ProcFs.PeakRssBytes(redis.Pid);
        }

        await rawYarp.StopAsync();
        await rawYarpTuned.StopAsync();
        await gateway.StopAsync();
        if (redis is not null)
        {
            await redis.StopAsync();
        }

        return results;
    }

    ChildProcess StartGateway(string name, string url, string? apiUrl, IEnumerable<string> storeArguments, string directory)
    {
        List<string> arguments =
        [
            settings.GatewayDll, "--urls", url,
            $"--Webex:BaseUrl={webex}", $"--Webex:ClientId={ClientId}", $"--Webex:RedirectUri={url}/auth/callback",
            .. storeArguments,
            "--Logging:LogLevel:Default=Warning",
            // Up to 10,000 sessions are signed in from 127.0.0.1: far beyond what one real address is allowed.
            "--Gateway:SignInLimit:PermitLimit=1000000",
            $"--Gateway:RateLimit:PermitsPerMinute={settings.PermitsPerMinute}",
        ];
        if (apiUrl is not null)
        {
            arguments.Add($"--Webex:ApiUrl={apiUrl}");
        }

        return ChildProcess.Start(name, "dotnet", arguments, Path.Combine(directory, $"{name}.log"), Path.GetDirectoryName(settings.GatewayDll),
            new Dictionary<string, string>(imageEnvironment) { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Webex__ClientSecret"] = ClientSecret });
    }
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("[bench] cancelled");
    keepTemp = true;
    return 130;
}
catch (Exception e)
{
    Console.Error.WriteLine($"[bench] failed: {e}");
    Console.WriteLine();
    Console.WriteLine($"**⚠ The benchmark failed: {e.Message}**");
    keepTemp = true;
    return 1;
}
finally
{
    await ChildProcess.StopAllAsync();
    if (emulator is not null)
    {
        await emulator.DisposeAsync();
    }

    if (keepTemp)
    {
        Console.Error.WriteLine($"[bench] logs, configuration and cookies kept in {temp}");
    }
    else
    {
        Directory.Delete(temp, recursive: true);
    }
}

// Each proxy must answer the person from nginx, and send nginx a Bearer: the static one (raw YARP) or the user's (gateway).
async Task VerifyAsync(string upstreamUrl, string gatewayUrl, string rawYarpUrl, IReadOnlyList<string> cookies)
{
    await ExpectAsync($"{upstreamUrl}/v1/people/me", null, NginxUpstream.PersonJson);
    await ExpectAsync($"{rawYarpUrl}/webex/v1/people/me", cookies[0], NginxUpstream.PersonJson);
    await ExpectAsync($"{rawYarpUrl}/webex/v1/bench/authorization", cookies[0], $"Bearer {RawYarpToken}");
    foreach (var index in new[] { 0, cookies.Count / 2, cookies.Count - 1 }.Distinct())
    {
        await ExpectAsync($"{gatewayUrl}/webex/v1/people/me", cookies[index], NginxUpstream.PersonJson);
        var bearer = await ExpectAsync($"{gatewayUrl}/webex/v1/bench/authorization", cookies[index], null);
        if (!bearer.StartsWith("Bearer ", StringComparison.Ordinal) || bearer.Length < 20 || bearer.Contains(RawYarpToken, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the gateway sent nginx no user token for cookie {index} ('{bearer[..Math.Min(bearer.Length, 12)]}…')");
        }
    }

    async Task<string> ExpectAsync(string url, string? cookie, string? body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", cookie);
            request.Headers.TryAddWithoutValidation("X-CSRF", "1");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 200 || (body is not null && text != body))
        {
            throw new InvalidOperationException($"GET {url} answered {(int)response.StatusCode}, not 200 with the expected body: {text[..Math.Min(text.Length, 300)]}");
        }

        return text;
    }
}

static void Log(string message) => Console.Error.WriteLine($"[bench] {DateTime.Now:HH:mm:ss} {message}");

static string Header(Settings settings, Wrk wrk, IReadOnlyDictionary<string, string> imageEnvironment)
{
    var runtimeVariables = imageEnvironment.Count == 0 ? "none" : string.Join(", ", imageEnvironment.Select(v => $"`{v.Key}={v.Value}`"));
    var seconds = settings.Seconds;
    var proxied = wrk.CommandLine(new WrkLoad("http://127.0.0.1:<port>/webex/v1/people/me", ["X-CSRF: 1"], "x"), seconds, "bench/Gateway.Benchmarks/cookies.lua", "<cookies.txt>");
    var upstream = wrk.CommandLine(new WrkLoad("http://127.0.0.1:<port>/v1/people/me", [$"Authorization: Bearer {UpstreamToken}"], null), seconds, "bench/Gateway.Benchmarks/cookies.lua", null);
    var memory = File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
    return string.Create(CultureInfo.InvariantCulture, $"""
        # Gateway benchmark: upstream alone, raw YARP, gateway

        - Run: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} × {ProcFs.CpuModel()}, {long.Parse(memory, CultureInfo.InvariantCulture) / 1024.0 / 1024.0:F1} GiB, Linux {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}; load average at the start: {ProcFs.LoadAverage()}
        - Software: .NET {Environment.Version}; YARP {Tools.AssemblyVersion(settings.RawYarpDll, "Yarp.ReverseProxy.dll")} (raw YARP) and {Tools.AssemblyVersion(settings.GatewayDll, "Yarp.ReverseProxy.dll")} (gateway); {Tools.Version("nginx", "-v").Replace("nginx version: ", "", StringComparison.Ordinal)} (1 worker); {Tools.Version("redis-server", "--version").Split(" sha=")[0]}; {Tools.Version("wrk", "-v").Split(" [")[0]}
        - Gateway: `src/` {Environment.GetEnvironmentVariable("BENCH_SOURCE") ?? "of an unknown commit"}, published in Release, Production settings, with the runtime variables its image (Dockerfile) sets: {runtimeVariables}; raw YARP on the gateway's runtime settings gets them too, raw YARP itself does not
        - Command: `{settings.Describe()} {settings.Command}`
        - Measured run, raw YARP and gateway: `{proxied}`; upstream alone: `{upstream}`
        - Each target is warmed up with {settings.WarmupSeconds} s runs until two in a row are within {settings.WarmupTolerance * 100:F0}% in req/s and the last is not that much above the one three runs before (at most {settings.WarmupMaxRuns}) and every cookie has been sent, after at least {settings.WarmupFirstSeconds} s for raw YARP and the gateway in round 1 (tiered compilation), then measured for {seconds} s. Rounds run upstream → raw YARP → raw YARP on the gateway's runtime settings → gateway, {(settings.Rounds == 1 ? "once" : $"{settings.Rounds} times")}; tables give medians.
        - CPU µs/req: utime + stime of the target's processes (/proc/&lt;pid&gt;/stat) over the measured run ÷ requests completed; the upstream's row is nginx (master and worker), redis-server's CPU is its own column. Peak RSS: VmHWM at the end of the scenario; every scenario starts new gateway and raw YARP processes and a new store holding only its own users' sessions.
        - Users sign in through the Webex emulator (the gateway started with Webex:BaseUrl = emulator, 3 redirects each, distinct people by login_hint); the gateway is then restarted on the same store with Webex:ApiUrl = nginx, and the cookies are checked (200, nginx's body, a user Bearer) before measuring. Raw YARP gets the same requests (cookie and X-CSRF, which it forwards); the upstream alone gets a plain request with a Bearer.
        - Other load: share of the whole machine's CPU used by processes other than the benchmark's (wrk, nginx, the proxies, redis-server, this driver) during the measured run. nginx's CPU µs/req, listed for every run, also shows how fast the machine was at the time (a busy host slows everything down, even where no other process is seen).

        """);
}

/// <summary>Programs the benchmark runs, and their versions for the report.</summary>
internal static class Tools
{
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"])
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    /// <summary>The first line a program prints for <paramref name="argument"/> (stdout or stderr).</summary>
    public static string Version(string program, string argument)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, argument) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (output + error.Result).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? program;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return $"{program} (not found)";
        }
    }

    public static string AssemblyVersion(string besideDll, string assembly)
    {
        var path = Path.Combine(Path.GetDirectoryName(besideDll)!, assembly);
        return File.Exists(path) ? (FileVersionInfo.GetVersionInfo(path).ProductVersion ?? "?").Split('+')[0] : "?";
    }
}
