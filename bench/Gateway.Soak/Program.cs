using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Webex.Emulator;
using WebexGateway.Soak;

// Soak: two gateway instances sharing one real redis-server, many simulated users under steady load for a bounded
// time, while access tokens expire every few seconds, the token endpoint is slow, and Redis is restarted once.
// Everything stays on 127.0.0.1.
//   dotnet run -c Release --project bench/Gateway.Soak -- <path to published Gateway.dll> [seconds]
// Environment: SOAK_USERS (50), SOAK_WORKERS (32), SOAK_TOKEN_DELAY_MS (2000), SOAK_SEED (random), SOAK_REDIS_RESTART=0
// (no Redis restart), SOAK_KEEP=1 (keep the gateway logs and Redis data even when the soak passes), SOAK_GATEWAY_LOG_LEVEL (Warning).
// Exit code 0 only when no grant was lost and every response was expected.

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Gateway.Soak <path to published Gateway.dll> [seconds]");
    return 2;
}

var gatewayDll = Path.GetFullPath(args[0]);
var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60;
var userCount = EnvInt("SOAK_USERS", 50);
var workerCount = EnvInt("SOAK_WORKERS", 32);
var tokenDelay = TimeSpan.FromMilliseconds(EnvInt("SOAK_TOKEN_DELAY_MS", 2000));
var seed = EnvInt("SOAK_SEED", Random.Shared.Next(1, 1_000_000));
if (seconds < 10 || userCount < 1 || workerCount < 1)
{
    Console.Error.WriteLine("seconds must be at least 10, SOAK_USERS and SOAK_WORKERS at least 1");
    return 2;
}

var duration = TimeSpan.FromSeconds(seconds);
var requestTimeout = TimeSpan.FromSeconds(15);

// The chaos schedule: expiry rounds every 10 s from 5 s on (none in the last 2 s, so their refreshes finish);
// Redis down at 40% of the run for 3 s.
var expiryPeriod = TimeSpan.FromSeconds(10);
var expiries = new List<TimeSpan>();
for (var at = expiryPeriod / 2; at < duration - TimeSpan.FromSeconds(2); at += expiryPeriod)
{
    expiries.Add(at);
}

var redisStopAt = Environment.GetEnvironmentVariable("SOAK_REDIS_RESTART") == "0" ? TimeSpan.MaxValue : duration * 0.4;
var redisDownFor = TimeSpan.FromSeconds(3);

// A 503 is expected from Redis going down until this long after it answers again (the client reconnects with a backoff).
var recoveryGrace = TimeSpan.FromSeconds(10);

const string clientId = "soak-client";
const string clientSecret = "soak-secret";
var work = Directory.CreateTempSubdirectory("gateway-soak").FullName;
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

Console.WriteLine($"soak: {seconds} s, {userCount} users, {workerCount} workers, 2 gateway instances, token endpoint delay {tokenDelay.TotalSeconds:0.#} s, seed {seed}");
Console.WriteLine($"chaos: all access tokens expire at {string.Join(", ", expiries.Select(e => $"{e.TotalSeconds:0.#}"))} s; redis-server stopped at {redisStopAt.TotalSeconds:0.#} s for {redisDownFor.TotalSeconds:0} s");

var loadAverageBefore = LoadAverage();
var exitCode = await RunAsync();
if (exitCode == 0 && Environment.GetEnvironmentVariable("SOAK_KEEP") != "1")
{
    Directory.Delete(work, recursive: true);
}
else
{
    Console.WriteLine($"the gateway logs and Redis data are kept in {work}");
}

return exitCode;

async Task<int> RunAsync()
{
    var options = new WebexEmulatorOptions { RoomCount = 10 };
    options.Clients.Add(new EmulatorClient(clientId, clientSecret));
    options.AddGeneratedPeople(userCount);
    await using var emulator = await WebexEmulator.StartAsync(options);
    emulator.State.RecordRequests = false;
    emulator.State.TokenDelay = tokenDelay;
    var webex = emulator.BaseUrl.ToString().TrimEnd('/');

    var redisDirectory = Directory.CreateDirectory(Path.Combine(work, "redis")).FullName;
    await using var redis = new RedisServer(FreePort(), redisDirectory);
    await redis.StartAsync();

    var keyPrefix = $"soak-{Guid.NewGuid():N}:";
    var gateways = new List<GatewayProcess>();
    try
    {
        for (var i = 1; i <= 2; i++)
        {
            gateways.Add(GatewayProcess.Start($"gateway{i}", gatewayDll, FreePort(), webex, clientId, clientSecret, redis.ConnectionString, keyPrefix, work));
        }

        using var http = new HttpClient(new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            UseProxy = false,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        })
        { Timeout = Timeout.InfiniteTimeSpan };

        foreach (var gateway in gateways)
        {
            await gateway.WaitForReadyAsync(http);
        }

        // Sign every user in, alternating instances, 25 at a time (each code exchange waits the token delay).
        var users = emulator.State.People.Skip(1).Select((p, i) => new SimulatedUser(i + 1, p, emulator.State.RoomIdsFor(p.Id))).ToArray();
        var signInClock = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(25))
        {
            await Task.WhenAll(users.Select(async user =>
            {
                await gate.WaitAsync(stop.Token);
                try
                {
                    await user.SignInAsync(gateways[user.Number % 2].Url, requestTimeout);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        Console.WriteLine($"signed in {users.Length} users in {signInClock.Elapsed.TotalSeconds:0.0} s ({emulator.State.CodeExchanges} code exchanges)");
        emulator.State.Reset();

        // The load and the chaos run side by side on one clock.
        var stats = new Stats();
        var clock = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        deadline.CancelAfter(duration);
        var random = new Random(seed);
        var workerSeeds = Enumerable.Range(0, workerCount).Select(_ => random.Next()).ToArray();
        var workers = workerSeeds.Select(s => Task.Run(() => WorkerAsync(new Random(s), stats.NewList(), clock, deadline.Token))).ToArray();
        var chaos = new ChaosLog();
        var chaosTask = Task.Run(() => ChaosAsync(chaos, clock, deadline.Token));
        await Task.WhenAll(workers);
        await chaosTask;
        var loadSeconds = clock.Elapsed.TotalSeconds;

        // Every user must still be signed in on both instances, as the same person, and still reach Webex.
        var (lost, finalProblems) = await FinalCheckAsync();
        var samples = stats.All();
        var report = Report(samples, chaos, loadSeconds, lost, finalProblems);
        Console.WriteLine();
        Console.WriteLine(report.Text);
        foreach (var gateway in gateways)
        {
            foreach (var line in gateway.ErrorExcerpt(5))
            {
                Console.WriteLine($"[{gateway.Name}] {line}");
            }
        }

        var ok = lost == 0 && report.Unexpected == 0 && finalProblems.Count == 0 && gateways.All(g => !g.HasExited);
        Console.WriteLine(ok ? "soak: PASSED" : "soak: FAILED (lost grants or unexpected responses; see above and the gateway logs)");
        return ok ? 0 : 1;

        async Task WorkerAsync(Random rng, List<Sample> samples, Stopwatch clock, CancellationToken cancel)
        {
            var n = 0;
            while (!cancel.IsCancellationRequested)
            {
                var user = users[rng.Next(users.Length)];
                var instance = rng.Next(gateways.Count);
                var gateway = gateways[instance];
                var pick = rng.Next(100);
                using var request = pick switch
                {
                    < 45 => new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.Url, "/webex/v1/people/me")),
                    < 90 => new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.Url, "/webex/v1/rooms?max=5")),
                    _ => new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.Url, "/webex/v1/messages"))
                    {
                        Content = new StringContent(
                            JsonSerializer.Serialize(new { roomId = user.RoomIds[rng.Next(user.RoomIds.Count)], text = $"soak message {++n}" }), Encoding.UTF8, "application/json"),
                    },
                };
                request.Headers.Add("X-CSRF", "1");
                request.Headers.Add("Cookie", user.CookieHeader(gateway.Url));
                var start = clock.Elapsed.TotalSeconds;
                string outcome;
                string? problem = null;
                string? detail = null;

                // Not linked to the deadline: a request in flight at the end finishes (or times out) and is counted.
                using var timeout = new CancellationTokenSource(requestTimeout);
                try
                {
                    using var response = await http.SendAsync(request, timeout.Token);
                    var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                    outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                    if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
                    {
                        foreach (var setCookie in setCookies)
                        {
                            user.Cookies.SetCookies(gateway.Url, setCookie);
                        }
                    }

                    if (response.IsSuccessStatusCode && pick is < 45 or >= 90)
                    {
                        problem = WhoseAnswer(body, pick < 45 ? "id" : "personId", user);
                    }
                    else if (!response.IsSuccessStatusCode)
                    {
                        detail = ErrorDetail(body);
                    }
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    outcome = "timeout";
                }
                catch (HttpRequestException ex)
                {
                    outcome = $"connection ({ex.HttpRequestError})";
                }

                var end = clock.Elapsed.TotalSeconds;
                samples.Add(new Sample(instance, start, end, (end - start) * 1000, outcome, problem, detail));
            }
        }

        // Two independent schedules, so an expiry round can fall inside the Redis outage.
        async Task ChaosAsync(ChaosLog log, Stopwatch clock, CancellationToken cancel)
        {
            await Task.WhenAll(ExpiriesAsync(), RedisRestartAsync());

            async Task ExpiriesAsync()
            {
                try
                {
                    foreach (var at in expiries)
                    {
                        await DelayUntilAsync(at);
                        emulator.State.ExpireAccessTokens();
                        lock (log)
                        {
                            log.Expiries.Add(clock.Elapsed.TotalSeconds);
                        }
                    }
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                }
            }

            async Task RedisRestartAsync()
            {
                if (redisStopAt >= duration)
                {
                    return;
                }

                try
                {
                    await DelayUntilAsync(redisStopAt);
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    return;
                }

                // Not cancellable: once stopped, Redis is always started again.
                log.RedisStopping = clock.Elapsed.TotalSeconds;
                await redis.StopAsync();
                log.RedisStopped = clock.Elapsed.TotalSeconds;
                await Task.Delay(redisDownFor, CancellationToken.None);
                log.RedisStarting = clock.Elapsed.TotalSeconds;
                await redis.StartAsync();
                log.RedisStarted = clock.Elapsed.TotalSeconds;
            }

            async Task DelayUntilAsync(TimeSpan at)
            {
                var wait = at - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancel);
                }
            }
        }

        async Task<(int Lost, List<string> Problems)> FinalCheckAsync()
        {
            var lostUsers = new HashSet<int>();
            var problems = new List<string>();
            foreach (var user in users)
            {
                foreach (var gateway in gateways)
                {
                    var (status, body) = await GetWithRetryAsync(gateway, user, "/auth/user");
                    if (status == HttpStatusCode.Unauthorized)
                    {
                        lostUsers.Add(user.Number);
                        problems.Add($"user {user.Number} ({user.Person.Email}): /auth/user on {gateway.Name} answered 401: grant lost");
                    }
                    else if (status != HttpStatusCode.OK)
                    {
                        problems.Add($"user {user.Number}: /auth/user on {gateway.Name} answered {(int)status}");
                    }
                    else if (WhoseAnswer(body, "id", user) is { } wrong)
                    {
                        problems.Add($"user {user.Number}: /auth/user on {gateway.Name}: {wrong}");
                    }

                    var (webexStatus, webexBody) = await GetWithRetryAsync(gateway, user, "/webex/v1/people/me");
                    if (webexStatus != HttpStatusCode.OK)
                    {
                        problems.Add($"user {user.Number}: /webex/v1/people/me on {gateway.Name} answered {(int)webexStatus}");
                    }
                    else if (WhoseAnswer(webexBody, "id", user) is { } wrong)
                    {
                        problems.Add($"user {user.Number}: /webex/v1/people/me on {gateway.Name}: {wrong}");
                    }
                }
            }

            return (lostUsers.Count, problems);
        }

        // A 503 (Redis still reconnecting, a slow refresh) is retried a few times; anything else is the answer.
        async Task<(HttpStatusCode Status, byte[] Body)> GetWithRetryAsync(GatewayProcess gateway, SimulatedUser user, string path)
        {
            for (var attempt = 1; ; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.Url, path));
                request.Headers.Add("X-CSRF", "1");
                request.Headers.Add("Cookie", user.CookieHeader(gateway.Url));
                using var timeout = new CancellationTokenSource(requestTimeout);
                using var response = await http.SendAsync(request, timeout.Token);
                var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 5)
                {
                    return (response.StatusCode, body);
                }

                await Task.Delay(1000);
            }
        }

        SoakReport Report(List<Sample> samples, ChaosLog chaos, double loadSeconds, int lost, List<string> finalProblems)
        {
            // The outage window: from the moment redis-server is told to stop until the grace after it answers again.
            var outageFrom = chaos.RedisStopping ?? double.MaxValue;
            var outageTo = (chaos.RedisStarted ?? loadSeconds) + recoveryGrace.TotalSeconds;
            bool InOutage(Sample s) => s.End >= outageFrom && s.Start <= outageTo;
            bool Expected(Sample s) => s.Problem is null && (s.Outcome.StartsWith('2') || (s.Outcome == "503" && InOutage(s)));

            var served = samples.Count(s => s.Outcome.StartsWith('2') && s.Problem is null);
            var unexpected = samples.Where(s => !Expected(s)).ToList();
            var unavailable = samples.Where(s => s.Outcome == "503").ToList();
            var latencies = samples.Select(s => s.Milliseconds).Order().ToArray();
            var refreshes = users.Select(u => emulator.State.RefreshCallsFor(u.Person.Id)).ToArray();
            var rounds = chaos.Expiries.Count;
            var gatewayWarnings = gateways.Sum(g => g.Warnings);
            var gatewayErrors = gateways.Sum(g => g.Errors);

            var text = new StringBuilder();
            text.AppendLine("Responses by status:");
            text.AppendLine();
            text.AppendLine("| status | error | responses | during the Redis outage window | outside it |");
            text.AppendLine("|---|---|---|---|---|");
            foreach (var group in samples.GroupBy(s => (s.Outcome, s.Detail)).OrderBy(g => g.Key.Outcome, StringComparer.Ordinal).ThenBy(g => g.Key.Detail, StringComparer.Ordinal))
            {
                text.AppendLine($"| {group.Key.Outcome} | {group.Key.Detail ?? ""} | {group.Count()} | {group.Count(InOutage)} | {group.Count(s => !InOutage(s))} |");
            }

            text.AppendLine();
            text.AppendLine("Timeline (seconds since the load started):");
            text.AppendLine();
            text.AppendLine("| from | requests | 2xx | 503 | other | p99 | gateway1 p50 / p99 | gateway2 p50 / p99 | events |");
            text.AppendLine("|---|---|---|---|---|---|---|---|---|");
            var step = Math.Max(1, (int)Math.Round(loadSeconds / 15));
            for (var from = 0; from < loadSeconds; from += step)
            {
                var slice = samples.Where(s => s.End >= from && s.End < from + step).ToList();
                var events = new List<string>();
                events.AddRange(chaos.Expiries.Where(t => t >= from && t < from + step).Select(t => $"tokens expired ({t:0.0})"));
                if (chaos.RedisStopping is { } down && down >= from && down < from + step)
                {
                    events.Add($"Redis stopped ({down:0.0})");
                }

                if (chaos.RedisStarted is { } up && up >= from && up < from + step)
                {
                    events.Add($"Redis back ({up:0.0})");
                }

                var p99 = slice.Count == 0 ? 0 : Percentile(slice.Select(s => s.Milliseconds).Order().ToArray(), 0.99);
                string ByInstance(int i)
                {
                    var own = slice.Where(s => s.Instance == i).Select(s => s.Milliseconds).Order().ToArray();
                    return own.Length == 0 ? "-" : $"{Percentile(own, 0.5):0} / {Percentile(own, 0.99):0} ms";
                }

                text.AppendLine($"| {from} | {slice.Count} | {slice.Count(s => s.Outcome.StartsWith('2'))} | {slice.Count(s => s.Outcome == "503")} | {slice.Count(s => !s.Outcome.StartsWith('2') && s.Outcome != "503")} | {p99:0} ms | {ByInstance(0)} | {ByInstance(1)} | {string.Join(", ", events)} |");
            }

            text.AppendLine();
            text.AppendLine("| figure | value |");
            text.AppendLine("|---|---|");
            text.AppendLine($"| run | {loadSeconds:0.0} s, {users.Length} users, {workerCount} workers, 2 gateway instances, 1 redis-server, {Environment.ProcessorCount} cores (load average {loadAverageBefore} before, {LoadAverage()} after) |");
            text.AppendLine($"| requests | {samples.Count} ({samples.Count / loadSeconds:0} /s) |");
            text.AppendLine($"| requests served (2xx) | {served} ({100.0 * served / Math.Max(1, samples.Count):0.00}%) |");
            text.AppendLine($"| 503 during the Redis outage (expected) | {unavailable.Count(InOutage)}{(unavailable.Count > 0 ? $", from {unavailable.Min(s => s.End):0.0} s to {unavailable.Max(s => s.End):0.0} s" : "")} |");
            text.AppendLine($"| Redis outage | stopped at {chaos.RedisStopping:0.0} s, answering PING again at {chaos.RedisStarted:0.0} s; 503s counted as expected until {outageTo:0.0} s |");
            text.AppendLine($"| unexpected responses | {unexpected.Count}{Describe(unexpected)} |");
            text.AppendLine($"| token-expiry rounds | {rounds} |");
            text.AppendLine($"| refresh calls per user (min / avg / max) | {refreshes.Min()} / {refreshes.Average():0.00} / {refreshes.Max()} (total {emulator.State.RefreshCalls}; ideal: 1 per round) |");
            text.AppendLine($"| grants lost | {lost} |");
            text.AppendLine($"| final check (/auth/user and /webex/v1/people/me per user and instance) | {(finalProblems.Count == 0 ? "all 200, right person" : $"{finalProblems.Count} problems")} |");
            text.AppendLine($"| latency p50 / p90 / p99 / max | {Percentile(latencies, 0.50):0.0} / {Percentile(latencies, 0.90):0.0} / {Percentile(latencies, 0.99):0.0} / {(latencies.Length > 0 ? latencies[^1] : 0):0} ms |");
            text.AppendLine($"| gateway log lines (warn / fail) | {gatewayWarnings} / {gatewayErrors} |");
            foreach (var problem in finalProblems.Take(20))
            {
                text.AppendLine($"final check: {problem}");
            }

            return new SoakReport(text.ToString(), unexpected.Count);
        }
    }
    finally
    {
        foreach (var gateway in gateways)
        {
            await gateway.DisposeAsync();
        }
    }
}

static string Describe(List<Sample> unexpected)
{
    if (unexpected.Count == 0)
    {
        return "";
    }

    var groups = unexpected
        .GroupBy(s => s.Problem ?? (s.Detail is null ? s.Outcome : $"{s.Outcome} {s.Detail}"))
        .OrderByDescending(g => g.Count())
        .Select(g => $"{g.Key}: {g.Count()} ({g.Min(s => s.End):0.0}–{g.Max(s => s.End):0.0} s)");
    return " (" + string.Join("; ", groups) + ")";
}

// Null when the JSON's property names the user's person; otherwise what is wrong.
static string? WhoseAnswer(byte[] body, string property, SimulatedUser user)
{
    try
    {
        using var json = JsonDocument.Parse(body);
        var id = json.RootElement.TryGetProperty(property, out var value) ? value.GetString() : null;
        return id == user.Person.Id ? null : "another person's data";
    }
    catch (JsonException)
    {
        return "not JSON";
    }
}

// The gateway's own errors carry an "error" code; Webex's (passed through) carry a "trackingId".
static string? ErrorDetail(byte[] body)
{
    try
    {
        using var json = JsonDocument.Parse(body);
        if (json.RootElement.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        return json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString()
            : json.RootElement.TryGetProperty("trackingId", out _) ? "webex" : null;
    }
    catch (JsonException)
    {
        return body.Length == 0 ? "empty body" : "not JSON";
    }
}

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

// The machine's 1-minute load average: on a shared machine, other work skews every figure.
static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

static int EnvInt(string name, int fallback) =>
    int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed class ChaosLog
{
    public List<double> Expiries { get; } = [];

    public double? RedisStopping { get; set; }

    public double? RedisStopped { get; set; }

    public double? RedisStarting { get; set; }

    public double? RedisStarted { get; set; }
}

internal sealed record SoakReport(string Text, int Unexpected);
