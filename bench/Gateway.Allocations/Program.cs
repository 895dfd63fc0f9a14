using System.Diagnostics;
using System.Globalization;
using System.Net;
using Webex.Emulator;
using WebexGateway.Benchmarks;
using WebexGateway.Benchmarks.RawYarp;

namespace WebexGateway.Allocations;

// Managed allocations per proxied request: the gateway and raw YARP hosted in this process on Kestrel at 127.0.0.1, in
// front of the same in-process upstream, called by a real HttpClient from this process. After a warm-up (tiered JIT),
// each run sends N requests and reads GC.GetTotalAllocatedBytes(precise) and the Gen0 collection count before and
// after: bytes per request for the whole process (client, proxy, upstream). The upstream called directly by the same
// client is measured the same way, so each proxy's own share is its figure minus that one. Rounds interleave the three
// targets; the report gives medians. Then one sampled run per proxy names the types that were allocated.
//   dotnet run -c Release --project bench/Gateway.Allocations -- [requests per run, 20000] [rounds, 3] [concurrency, 4]
// The gateway's call is GET /webex/v1/people/me with a session cookie and X-CSRF: 1, the token valid, the session and
// grant cached (embedded store, Production settings, per-person limit off as in run.sh; cool-downs on).
internal static class AllocationsPerRequest
{
    public static async Task<int> Main(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 4;
        const string ClientId = "allocations-client";
        const string ClientSecret = "allocations-secret";

        // WebApplicationFactory finds the gateway's content root (src/Gateway, wwwroot included) from the manifest it reads
        // in the current directory.
        Directory.SetCurrentDirectory(AppContext.BaseDirectory);
        var temp = Directory.CreateTempSubdirectory("gateway-allocations-").FullName;
        try
        {
            await using var upstream = await FixedUpstream.StartAsync();
            var options = new WebexEmulatorOptions();
            options.Clients.Add(new EmulatorClient(ClientId, ClientSecret));
            await using var emulator = await WebexEmulator.StartAsync(options);
            emulator.State.RecordRequests = false;

            await using var gateway = new InProcessGateway(Ports.Free(), new Dictionary<string, string?>
            {
                // Sign-in's token call goes to the emulator; /webex/* (and sign-in's people/me) to the fixed upstream.
                ["Webex:BaseUrl"] = emulator.BaseUrl.ToString().TrimEnd('/'),
                ["Webex:ApiUrl"] = upstream.Url,
                ["Webex:ClientId"] = ClientId,
                ["Webex:ClientSecret"] = ClientSecret,
                ["Webex:Scopes"] = "spark:people_read",
                ["Redis:ConnectionString"] = "",
                ["Redis:DataDirectory"] = Path.Combine(temp, "garnet"),
                ["Gateway:RateLimit:PermitsPerMinute"] = "0",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            gateway.StartServer();
            var cookie = (await SignIns.RunAsync(new Uri(gateway.Url), [emulator.State.Person], 1, CancellationToken.None))[0];

            var rawYarpUrl = $"http://127.0.0.1:{Ports.Free()}";
            await using var rawYarp = RawYarpApp.Build(
                ["--urls", rawYarpUrl, $"--Upstream={upstream.Url}", "--Logging:LogLevel:Default=Warning", "--environment", "Production"]);
            await rawYarp.StartAsync();

            using var http = new HttpClient(new SocketsHttpHandler
            {
                UseCookies = false,
                AllowAutoRedirect = false,
                UseProxy = false,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
            });
            var targets = new Target[]
            {
                new("upstream alone", new Uri($"{upstream.Url}/v1/people/me")),
                new("raw YARP", new Uri($"{rawYarpUrl}/webex/v1/people/me")),
                new("gateway", new Uri($"{gateway.Url}/webex/v1/people/me")),
            };

            foreach (var target in targets)
            {
                Log($"{target.Name}: warming up");
                await SendAsync(http, target.Url, cookie, Math.Max(requests, 20_000), concurrency);
            }

            var results = targets.ToDictionary(t => t.Name, _ => new List<Run>());
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var target in targets)
                {
                    // A short run first: the previous target's garbage is not this one's.
                    await SendAsync(http, target.Url, cookie, 1_000, concurrency);
                    var run = await MeasureAsync(http, target.Url, cookie, requests, concurrency);
                    results[target.Name].Add(run);
                    Log(string.Create(CultureInfo.InvariantCulture,
                        $"round {round}, {target.Name}: {run.BytesPerRequest:F0} B/request, {run.Gen0PerTenThousand:F1} Gen0 GCs per 10,000, {run.RequestsPerSecond:F0} req/s"));
                }
            }

            using var sampler = new AllocationSampler();
            var types = new Dictionary<string, IReadOnlyDictionary<string, long>>();
            var sampledRequests = requests * 2;
            foreach (var target in targets.Skip(1))
            {
                Log($"{target.Name}: sampling allocated types");
                sampler.Start();
                await SendAsync(http, target.Url, cookie, sampledRequests, concurrency);
                types[target.Name] = sampler.Stop();
            }

            Report();

            void Report()
            {
                var median = results.ToDictionary(r => r.Key, r => Median(r.Value));
                var upstreamAlone = median["upstream alone"];
                Console.WriteLine("# Managed allocations per proxied request");
                Console.WriteLine();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, .NET {Environment.Version}, {Environment.ProcessorCount} cores, GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {System.Runtime.GCSettings.LatencyMode}; "
                    + $"{requests:N0} requests per run, {concurrency} at a time, median of {rounds} rounds. `GET /webex/v1/people/me`, session cookie and `X-CSRF: 1`."));
                Console.WriteLine();
                Console.WriteLine("| target | bytes/request, whole process | Gen0 GCs per 10,000 requests | the proxy's own bytes/request | req/s (noisy) |");
                Console.WriteLine("|---|---:|---:|---:|---:|");
                foreach (var target in targets)
                {
                    var run = median[target.Name];
                    var own = target.Name == "upstream alone" ? "" : (run.BytesPerRequest - upstreamAlone.BytesPerRequest).ToString("N0", CultureInfo.InvariantCulture);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {target.Name} | {run.BytesPerRequest:N0} | {run.Gen0PerTenThousand:F1} | {own} | {run.RequestsPerSecond:N0} |"));
                }

                var extra = median["gateway"].BytesPerRequest - median["raw YARP"].BytesPerRequest;
                Console.WriteLine();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"The gateway allocates **{extra:N0} bytes per request more than raw YARP** ({median["gateway"].BytesPerRequest / median["raw YARP"].BytesPerRequest:F2}x the whole process's)."));
                Console.WriteLine();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Allocated types, estimated from the runtime's allocation samples over {sampledRequests:N0} requests (bytes/request; the sampler's own events add a little):"));
                Console.WriteLine();
                Console.WriteLine("| type | raw YARP | gateway | gateway − raw YARP |");
                Console.WriteLine("|---|---:|---:|---:|");
                var raw = types["raw YARP"];
                var ours = types["gateway"];
                foreach (var type in raw.Keys.Union(ours.Keys)
                             .Select(t => (Name: t, Raw: raw.GetValueOrDefault(t) / (double)sampledRequests, Ours: ours.GetValueOrDefault(t) / (double)sampledRequests))
                             .OrderByDescending(t => Math.Max(t.Raw, t.Ours))
                             .Take(30))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| `{type.Name.Replace("|", "\\|", StringComparison.Ordinal)}` | {type.Raw:N0} | {type.Ours:N0} | {type.Ours - type.Raw:+#,0;-#,0;0} |"));
                }
            }
        }
        finally
        {
            try
            {
                Directory.Delete(temp, recursive: true);
            }
            catch (IOException)
            {
                // The embedded store may still hold a file for a moment: a temporary directory left behind is harmless.
            }
        }

        return 0;

        static async Task<Run> MeasureAsync(HttpClient http, Uri url, string cookie, int requests, int concurrency)
        {
            var gen0 = GC.CollectionCount(0);
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            await SendAsync(http, url, cookie, requests, concurrency);
            var seconds = clock.Elapsed.TotalSeconds;
            var bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            return new Run(bytes / (double)requests, (GC.CollectionCount(0) - gen0) * 10_000.0 / requests, requests / seconds);
        }

        static async Task SendAsync(HttpClient http, Uri url, string cookie, int requests, int concurrency)
        {
            var remaining = requests;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                while (Interlocked.Decrement(ref remaining) >= 0)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, url);
                    request.Headers.TryAddWithoutValidation("Cookie", cookie);
                    request.Headers.TryAddWithoutValidation("X-CSRF", "1");
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        throw new InvalidOperationException($"{url} answered {(int)response.StatusCode}");
                    }

                    await response.Content.CopyToAsync(Stream.Null);
                }
            }));
        }

        static Run Median(List<Run> runs)
        {
            static double Middle(IEnumerable<double> values)
            {
                var sorted = values.Order().ToList();
                return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
            }

            return new Run(Middle(runs.Select(r => r.BytesPerRequest)), Middle(runs.Select(r => r.Gen0PerTenThousand)), Middle(runs.Select(r => r.RequestsPerSecond)));
        }

        static void Log(string message) => Console.Error.WriteLine($"[allocations] {message}");
    }
}

internal sealed record Target(string Name, Uri Url);

internal sealed record Run(double BytesPerRequest, double Gen0PerTenThousand, double RequestsPerSecond);
