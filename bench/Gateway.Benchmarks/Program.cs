using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Webex.Emulator;

// Throughput and latency of a proxied Webex call: wrk against the Webex emulator directly (the baseline)
// and against the gateway in front of it, in one run on one machine. Everything stays on 127.0.0.1.
//   dotnet run -c Release --project bench/Gateway.Benchmarks -- [gateway-dll] [seconds] [connections]

var gatewayDll = args.Length > 0 ? Path.GetFullPath(args[0]) : throw new ArgumentException("usage: <path to published Gateway.dll> [seconds] [connections]");
var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
var connections = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
const string clientId = "bench-client";
const string clientSecret = "bench-secret";

var options = new WebexEmulatorOptions();
options.Clients.Add(new EmulatorClient(clientId, clientSecret));
await using var emulator = await WebexEmulator.StartAsync(options);
emulator.State.RecordRequests = false;
var webex = emulator.BaseUrl.ToString().TrimEnd('/');

var port = FreePort();
var gatewayUrl = $"http://127.0.0.1:{port}";
var dataDirectory = Directory.CreateTempSubdirectory("gateway-bench").FullName;
var redis = Environment.GetEnvironmentVariable("BENCH_REDIS") ?? "";
using var gateway = Process.Start(new ProcessStartInfo("dotnet")
{
    ArgumentList =
    {
        gatewayDll, "--urls", gatewayUrl,
        $"--Webex:BaseUrl={webex}", $"--Webex:ClientId={clientId}", $"--Webex:RedirectUri={gatewayUrl}/auth/callback",
        $"--Redis:ConnectionString={redis}", $"--Redis:DataDirectory={dataDirectory}", $"--Redis:KeyPrefix=bench-{Guid.NewGuid():N}:",
        "--Logging:LogLevel:Default=Warning",
    },
    Environment = { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Webex__ClientSecret"] = clientSecret },
    WorkingDirectory = Path.GetDirectoryName(gatewayDll)!,
    RedirectStandardOutput = true,
    RedirectStandardError = true,
})!;
gateway.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[gateway] {e.Data}"); };
gateway.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[gateway] {e.Data}"); };
gateway.BeginOutputReadLine();
gateway.BeginErrorReadLine();

try
{
    var cookies = new CookieContainer();
    using var http = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies, AllowAutoRedirect = false, UseProxy = false });
    await WaitForReadyAsync(http, $"{gatewayUrl}/readyz");
    var location = new Uri($"{gatewayUrl}/auth/login");
    for (var hop = 0; hop < 3; hop++)
    {
        location = (await http.GetAsync(location)).Headers.Location is { } next ? new Uri(location, next) : throw new InvalidOperationException("sign-in stopped early");
    }

    var session = cookies.GetCookies(new Uri(gatewayUrl))["webex-gateway.session"]?.Value ?? throw new InvalidOperationException("no session cookie");
    var token = emulator.State.LastAccessToken!;

    Console.WriteLine($"wrk: {connections} connections, 2 threads, {seconds} s per target, GET /v1/people/me");
    var baseline = Wrk($"{webex}/v1/people/me", seconds, connections, $"Authorization: Bearer {token}");
    if (Environment.GetEnvironmentVariable("BENCH_EXTRA") == "1")
    {
        Console.WriteLine(Wrk($"{gatewayUrl}/healthz", seconds, connections).Row("healthz"));
        Console.WriteLine(Wrk($"{gatewayUrl}/auth/user", seconds, connections, $"Cookie: webex-gateway.session={session}").Row("auth/user"));
    }

    var proxied = Wrk($"{gatewayUrl}/webex/v1/people/me", seconds, connections, $"Cookie: webex-gateway.session={session}", "X-CSRF: 1");
    var report = new StringBuilder()
        .AppendLine($"| target | requests/s | p50 | p90 | p99 | non-2xx |")
        .AppendLine("|---|---|---|---|---|---|")
        .AppendLine(baseline.Row("Webex emulator, direct (baseline)"))
        .AppendLine(proxied.Row("gateway → emulator"))
        .AppendLine()
        .AppendLine(CultureInfo.InvariantCulture, $"Gateway overhead at p50: {proxied.P50 - baseline.P50:F2} ms; throughput {100.0 * proxied.RequestsPerSecond / baseline.RequestsPerSecond:F0}% of the baseline; token calls during the run: {emulator.State.RefreshCalls}.")
        .ToString();
    Console.WriteLine();
    Console.WriteLine(report);
    return proxied.Non2xx == 0 && baseline.Non2xx == 0 ? 0 : 1;
}
finally
{
    gateway.Kill(entireProcessTree: true);
    await gateway.WaitForExitAsync();
}

static WrkResult Wrk(string url, int seconds, int connections, params string[] headers)
{
    var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true };
    foreach (var argument in new[] { "-t2", $"-c{connections}", $"-d{seconds}s", "--latency" })
    {
        start.ArgumentList.Add(argument);
    }

    foreach (var header in headers)
    {
        start.ArgumentList.Add("-H");
        start.ArgumentList.Add(header);
    }

    start.ArgumentList.Add(url);
    using var wrk = Process.Start(start)!;
    var output = wrk.StandardOutput.ReadToEnd();
    wrk.WaitForExit();
    return WrkResult.Parse(output);
}

static async Task WaitForReadyAsync(HttpClient http, string url)
{
    for (var i = 0; i < 150; i++)
    {
        try
        {
            if ((await http.GetAsync(url)).IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(200);
    }

    throw new TimeoutException("the gateway did not become ready");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed record WrkResult(double RequestsPerSecond, double P50, double P90, double P99, long Non2xx)
{
    public static WrkResult Parse(string output)
    {
        double Latency(string percentile)
        {
            var match = Regex.Match(output, $@"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
        }

        var rps = double.Parse(Regex.Match(output, @"Requests/sec:\s+([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var non2xx = Regex.Match(output, @"Non-2xx or 3xx responses:\s+(\d+)") is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return new WrkResult(rps, Latency("50"), Latency("90"), Latency("99"), non2xx);
    }

    public string Row(string name) => string.Create(CultureInfo.InvariantCulture, $"| {name} | {RequestsPerSecond:F0} | {P50:F2} ms | {P90:F2} ms | {P99:F2} ms | {Non2xx} |");
}
