using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Webex.Emulator;
using WebexGateway.Configuration;
using WebexGateway.Events;
using WebexGateway.Soak;
using WebexGateway.Storage;

// Live events at scale: two published gateway instances on one redis-server, N open /events streams over them (ten per
// person, five on each instance), events appended through the gateway's own PersonEvents (as its webhook receiver
// does) at a steady rate, after one unmeasured event to every stream. Measures each delivery from the append to the event read off the stream, and the gateways'
// resident memory per open stream (/proc). Markdown to stdout; exit 1 when an event was lost or repeated, or p99 >= 200 ms.
//   dotnet run -c Release --project bench/Gateway.Events -- <published Gateway.dll> [streams, 1000] [events, 300] [events/s, 50]

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Gateway.Events <published Gateway.dll> [streams] [events] [events per second]");
    return 2;
}

var gatewayDll = Path.GetFullPath(args[0]);
var streamCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
var eventCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 300;
var rate = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 50;
const int streamsPerPerson = 10;
var personCount = Math.Max(1, streamCount / streamsPerPerson);
const string clientId = "events-bench-client";
const string clientSecret = "events-bench-secret";
const string keyPrefix = "events-bench:";
var work = Directory.CreateTempSubdirectory("gateway-events-bench").FullName;

var options = new WebexEmulatorOptions();
options.Clients.Add(new EmulatorClient(clientId, clientSecret));
options.AddGeneratedPeople(personCount);
await using var emulator = await WebexEmulator.StartAsync(options);
var people = options.People.Skip(options.People.Count - personCount).ToList();

await using var redis = new RedisServer(FreePort(), work);
await redis.StartAsync();
var gateways = new[]
{
    GatewayProcess.Start("gateway-1", gatewayDll, FreePort(), emulator.BaseUrl.ToString().TrimEnd('/'), clientId, clientSecret, redis.ConnectionString, keyPrefix, work),
    GatewayProcess.Start("gateway-2", gatewayDll, FreePort(), emulator.BaseUrl.ToString().TrimEnd('/'), clientId, clientSecret, redis.ConnectionString, keyPrefix, work),
};
try
{
    using var control = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
    foreach (var gateway in gateways)
    {
        await gateway.WaitForReadyAsync(control);
    }

    var users = people.Select((person, i) => new SimulatedUser(i + 1, person, [])).ToList();
    await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (user, _) =>
        await user.SignInAsync(gateways[user.Number % 2].Url, TimeSpan.FromSeconds(30)));
    Console.Error.WriteLine($"{users.Count} people signed in");

    using var streamsHttp = new HttpClient(new SocketsHttpHandler { UseProxy = false, UseCookies = false, MaxConnectionsPerServer = int.MaxValue })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
    using var stop = new CancellationTokenSource();
    var sent = new long[eventCount];
    var received = new int[eventCount];
    var latencies = new List<double>(eventCount * streamsPerPerson);
    var latencyGate = new Lock();
    var opened = 0;

    // Warm-up: one stream per instance opened and closed, then the baseline.
    foreach (var gateway in gateways)
    {
        using var warm = new CancellationTokenSource();
        var (response, _) = await OpenAsync(gateway, users[0], warm.Token);
        response.Dispose();
    }

    await Task.Delay(2000);
    var before = gateways.Select(g => Rss(g.ProcessId)).ToArray();

    var readers = new List<Task>();
    foreach (var user in users)
    {
        for (var i = 0; i < streamsPerPerson; i++)
        {
            var gateway = gateways[i % 2];
            var (response, body) = await OpenAsync(gateway, user, stop.Token);
            readers.Add(ReadAsync(response, body));
            Interlocked.Increment(ref opened);
        }
    }

    await Task.Delay(3000);
    var after = gateways.Select(g => Rss(g.ProcessId)).ToArray();
    Console.Error.WriteLine($"{opened} streams open");

    var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
    var events = new PersonEvents(multiplexer, new RedisKeys(Options.Create(new RedisOptions { KeyPrefix = keyPrefix })), TimeProvider.System);
    // Warm-up: one event to every person (every stream), not measured, so the delivery path is compiled and warm.
    foreach (var user in users)
    {
        await events.AppendAsync(new WebexEvent(user.Person.Id, $"warm-up-{user.Number}", "messages", "created", null, null,
            JsonDocument.Parse("""{"warmUp":true}""").RootElement));
        await Task.Delay(1000 / rate);
    }

    await Task.Delay(2000);
    var pace = Stopwatch.StartNew();
    for (var n = 0; n < eventCount; n++)
    {
        var due = TimeSpan.FromSeconds((double)n / rate);
        if (due > pace.Elapsed)
        {
            await Task.Delay(due - pace.Elapsed);
        }

        var person = users[n % users.Count].Person;
        sent[n] = Stopwatch.GetTimestamp();
        await events.AppendAsync(new WebexEvent(person.Id, $"bench-{n}", "messages", "created", person.Id, null,
            JsonDocument.Parse($$"""{"n":{{n}}}""").RootElement));
    }

    var deadline = Stopwatch.StartNew();
    while (received.Sum() < eventCount * streamsPerPerson && deadline.Elapsed < TimeSpan.FromSeconds(15))
    {
        await Task.Delay(100);
    }

    await Task.Delay(500);
    var total = received.Sum();
    var repeated = received.Count(r => r > streamsPerPerson);
    var missing = received.Count(r => r < streamsPerPerson);
    double[] sorted;
    lock (latencyGate)
    {
        sorted = [.. latencies.Order()];
    }

    await stop.CancelAsync();
    await Task.WhenAll(readers);
    multiplexer.Dispose();

    var p99 = Percentile(sorted, 0.99);
    var perStream = (after.Sum() - before.Sum()) / (double)opened;
    Console.WriteLine($"## Live events: {opened} open streams over 2 instances");
    Console.WriteLine();
    Console.WriteLine($"{personCount} people, {streamsPerPerson} streams each (half on each instance); {eventCount} events appended at {rate}/s, each to one person: {eventCount * streamsPerPerson} deliveries expected. One machine ({Environment.ProcessorCount} cores), redis-server, everything on 127.0.0.1; the bench's own readers share the CPU; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at the end.");
    Console.WriteLine();
    Console.WriteLine("| measure | value |");
    Console.WriteLine("|---|---|");
    Console.WriteLine($"| deliveries received | {total} of {eventCount * streamsPerPerson} ({missing} events short, {repeated} repeated) |");
    Console.WriteLine($"| delivery p50 / p95 / p99 / max, append to read off the stream | {Percentile(sorted, 0.5):0.0} / {Percentile(sorted, 0.95):0.0} / {p99:0.0} / {(sorted.Length == 0 ? 0 : sorted[^1]):0.0} ms |");
    Console.WriteLine($"| gateway RSS before / after opening the streams | {string.Join(", ", before.Select(Mib))} / {string.Join(", ", after.Select(Mib))} |");
    Console.WriteLine($"| RSS per open stream (both instances) | {perStream / 1024:0.0} KiB |");
    foreach (var gateway in gateways.Where(g => g.Errors > 0))
    {
        Console.WriteLine($"| {gateway.Name} errors | {gateway.Errors}: {string.Join(" / ", gateway.ErrorExcerpt(3))} |");
    }

    return missing == 0 && repeated == 0 && p99 < 200 && gateways.All(g => g.Errors == 0) ? 0 : 1;

    async Task ReadAsync(HttpResponseMessage response, Stream body)
    {
        using var _ = response;
        using var reader = new StreamReader(body, Encoding.UTF8);
        try
        {
            while (await reader.ReadLineAsync(stop.Token) is { } line)
            {
                if (!line.StartsWith("data: {\"resource\"", StringComparison.Ordinal))
                {
                    continue;
                }

                var at = Stopwatch.GetTimestamp();
                if (!JsonDocument.Parse(line.AsMemory(6)).RootElement.GetProperty("data").TryGetProperty("n", out var number))
                {
                    continue;
                }

                var n = number.GetInt32();
                Interlocked.Increment(ref received[n]);
                lock (latencyGate)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(sent[n], at).TotalMilliseconds);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // Stopped.
        }
    }

    async Task<(HttpResponseMessage Response, Stream Body)> OpenAsync(GatewayProcess gateway, SimulatedUser user, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.Url, "/events"));
        request.Headers.Add("Cookie", user.CookieHeader(gateway.Url));
        var response = await streamsHttp.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"/events on {gateway.Name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }

        return (response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }
}
finally
{
    foreach (var gateway in gateways)
    {
        await gateway.DisposeAsync();
    }

    Directory.Delete(work, recursive: true);
}

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

static long Rss(int pid)
{
    foreach (var line in File.ReadLines($"/proc/{pid}/status"))
    {
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
    }

    return 0;
}

static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:0.0} MiB";

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
