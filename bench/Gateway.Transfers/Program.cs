using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Webex.Emulator;
using WebexGateway.Benchmarks;
using WebexGateway.Transfers;

// The gateway's memory while a large file goes through it, up and down, measured from outside: a published gateway
// runs as its own process (Production, embedded store) in front of the in-process Webex emulator; one person signs in;
// a message with an N MiB file is posted through POST /webex/v1/messages (multipart, Content-Length known, generated
// on the fly), then the file is read back through GET /webex/v1/contents/{id}. While each transfer runs, the gateway's
// VmRSS (/proc/<pid>/status) is sampled every 10 ms; the growth is the peak minus the VmRSS just before the transfer.
// Small transfers first warm the gateway up (JIT, pools), so the growth is what a large one adds.
//   dotnet run -c Release --project bench/Gateway.Transfers -- <Gateway.dll> [MiB, 100] [limit MiB, 32]
if (args.Length < 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: Gateway.Transfers <Gateway.dll> [MiB, 100] [limit MiB, 32]");
    return 2;
}

var gatewayDll = Path.GetFullPath(args[0]);
var mebibytes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
var limitMiB = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
const string ClientId = "transfers-client";
const string ClientSecret = "transfers-secret";

var temp = Directory.CreateTempSubdirectory("gateway-transfers-").FullName;
var options = new WebexEmulatorOptions { RoomCount = 1 };
options.Clients.Add(new EmulatorClient(ClientId, ClientSecret));
await using var emulator = await WebexEmulator.StartAsync(options);
emulator.State.RecordRequests = false;
var url = $"http://127.0.0.1:{Ports.Free()}";
using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, UseProxy = false })
{
    Timeout = TimeSpan.FromMinutes(10),
};

var failed = false;
try
{
    var gateway = ChildProcess.Start("gateway", "dotnet",
        [
            gatewayDll, "--urls", url,
            $"--Webex:BaseUrl={emulator.BaseUrl.ToString().TrimEnd('/')}", $"--Webex:ClientId={ClientId}", $"--Webex:RedirectUri={url}/auth/callback",
            "--Webex:Scopes=spark:people_read spark:rooms_read spark:messages_write spark:messages_read",
            $"--Redis:DataDirectory={Path.Combine(temp, "garnet")}", "--Logging:LogLevel:Default=Warning",
        ],
        Path.Combine(temp, "gateway.log"), Path.GetDirectoryName(gatewayDll),
        new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Webex__ClientSecret"] = ClientSecret });
    await gateway.WaitForHttpAsync(http, new Uri($"{url}/readyz"), TimeSpan.FromSeconds(60));
    var cookie = await SignInAsync();
    var roomId = emulator.State.RoomIds[0];

    Console.Error.WriteLine("[transfers] warming up with 4 MiB transfers");
    for (var i = 0; i < 3; i++)
    {
        var warm = await UploadAsync(4, sample: null);
        await DownloadAsync(warm.ContentPath, 4L * 1024 * 1024, sample: null);
    }

    Console.WriteLine($"# Gateway memory during {mebibytes} MiB transfers");
    Console.WriteLine();
    Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores; gateway: {Path.GetFileName(gatewayDll)} (Production, embedded store), Webex: the emulator.");
    Console.WriteLine();
    Console.WriteLine("| transfer | bytes | seconds | VmRSS before | peak VmRSS during | growth | limit |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");

    var before = Rss.Current(gateway.Pid);
    var upSampler = new Rss(gateway.Pid);
    var clock = Stopwatch.StartNew();
    var uploaded = await UploadAsync(mebibytes, upSampler);
    var upSeconds = clock.Elapsed.TotalSeconds;
    Report("upload (`POST /webex/v1/messages`, multipart)", uploaded.Bytes, upSeconds, before, upSampler.Peak);

    before = Rss.Current(gateway.Pid);
    var downSampler = new Rss(gateway.Pid);
    clock.Restart();
    var downloaded = await DownloadAsync(uploaded.ContentPath, (long)mebibytes * 1024 * 1024, downSampler);
    Report("download (`GET /webex/v1/contents/{id}`)", downloaded, clock.Elapsed.TotalSeconds, before, downSampler.Peak);
    Console.WriteLine();
    Console.WriteLine($"VmHWM (the gateway's peak RSS since it started): {Rss.Mib(Rss.HighWaterMark(gateway.Pid))}. The uploaded file's SHA-256 matched what Webex stored and what came back.");
    await gateway.StopAsync();

    // The gateway's first store calls can time out on a busy machine while it warms up: the sign-in is tried again.
    async Task<string> SignInAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return (await SignIns.RunAsync(new Uri(url), [emulator.State.Person], 1, CancellationToken.None))[0];
            }
            catch (InvalidOperationException e) when (attempt < 3)
            {
                Console.Error.WriteLine($"[transfers] sign-in failed ({e.Message}); trying again");
                await Task.Delay(1000);
            }
        }
    }

    async Task<(long Bytes, string ContentPath)> UploadAsync(int size, Rss? sample)
    {
        using var content = new GeneratedFileContent(roomId, (long)size * 1024 * 1024);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{url}/webex/v1/messages")) { Content = content };
        request.Headers.Add("Cookie", cookie);
        request.Headers.Add("X-CSRF", "1");
        using var response = await Sampled(sample, () => http.SendAsync(request));
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"the upload answered {(int)response.StatusCode}: {body}");
        }

        using var message = JsonDocument.Parse(body);
        var file = new Uri(message.RootElement.GetProperty("files")[0].GetString()!);
        var stored = emulator.State.Content(Uri.UnescapeDataString(file.Segments[^1]));
        if (stored is null || stored.Length != content.FileLength || stored.Sha256 != content.Sha256)
        {
            throw new InvalidOperationException("Webex did not store the file that was sent");
        }

        return (content.Headers.ContentLength!.Value, "/webex" + file.AbsolutePath);
    }

    async Task<long> DownloadAsync(string path, long expected, Rss? sample)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url + path));
        request.Headers.Add("Cookie", cookie);
        request.Headers.Add("X-CSRF", "1");
        return await Sampled(sample, async () =>
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"the download answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }

            await using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                total += read;
            }

            return total == expected ? total : throw new InvalidOperationException($"the download gave {total} bytes, not {expected}");
        });
    }

    void Report(string name, long bytes, double seconds, long before, long peak)
    {
        var growth = peak - before;
        var over = growth >= (long)limitMiB * 1024 * 1024;
        failed |= over;
        Console.WriteLine($"| {name} | {bytes:N0} | {seconds:F1} | {Rss.Mib(before)} | {Rss.Mib(peak)} | {(over ? "**" : "")}{Rss.Mib(growth)}{(over ? "**" : "")} | < {limitMiB} MiB |");
    }
}
catch (Exception e)
{
    Console.Error.WriteLine($"[transfers] failed: {e}; logs in {temp}");
    await ChildProcess.StopAllAsync();
    return 1;
}

await ChildProcess.StopAllAsync();
Directory.Delete(temp, recursive: true);
return failed ? 1 : 0;

static async Task<T> Sampled<T>(Rss? sample, Func<Task<T>> transfer)
{
    if (sample is null)
    {
        return await transfer();
    }

    using var stop = new CancellationTokenSource();
    var sampling = sample.RunAsync(stop.Token);
    try
    {
        return await transfer();
    }
    finally
    {
        await stop.CancelAsync();
        await sampling;
    }
}
