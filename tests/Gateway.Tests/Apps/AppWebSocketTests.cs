using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Apps;

/// <summary>
/// WebSockets on an app route: a dev server's hot reload, an app's own socket. Upgraded by YARP to the app's upstream,
/// only from the gateway's own origin or one in <c>Gateway:AllowedOrigins</c>, without the gateway's cookies.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed partial class AppWebSocketTests(RedisFixture redis, ITestOutputHelper output)
{
    private const string AllowedOrigin = "https://app.example.com";

    private static Dictionary<string, string?> AppRoute(Uri upstream) => new()
    {
        ["ReverseProxy:Routes:alerts-app:ClusterId"] = "alerts-app",
        ["ReverseProxy:Routes:alerts-app:Match:Path"] = "/apps/alerts/{**path}",
        ["ReverseProxy:Clusters:alerts-app:Destinations:dev:Address"] = upstream.ToString(),
        ["Gateway:AllowedOrigins:0"] = AllowedOrigin,
    };

    [Fact]
    public async Task A_same_origin_websocket_on_an_app_route_echoes_and_the_app_never_sees_the_gateways_cookies()
    {
        await using var app = await EchoApp.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(AppRoute(app.Address));
        Assert.NotNull(browser.SessionCookie(gateway.Address));
        browser.Cookies.Add(gateway.Address, new Cookie("theme", "dark"));
        world.Webex.Reset();

        using var socket = await ConnectAsync(gateway.Address, "/apps/alerts/socket?v=2", Origin(gateway.Address), browser.Cookies);

        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.Equal("hello through the gateway", await EchoAsync(socket, "hello through the gateway"));
        Assert.Equal("and again", await EchoAsync(socket, "and again"));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        var seen = Assert.Single(app.Handshakes);
        Assert.Equal("/apps/alerts/socket?v=2", seen.Target);
        Assert.Equal("theme=dark", seen.Cookie);
        Assert.Null(seen.Authorization);
        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task A_websocket_from_an_origin_in_allowed_origins_echoes()
    {
        await using var app = await EchoApp.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(AppRoute(app.Address));

        using var socket = await ConnectAsync(gateway.Address, "/apps/alerts/socket", AllowedOrigin);

        Assert.Equal("from the app's origin", await EchoAsync(socket, "from the app's origin"));
        Assert.Single(app.Handshakes);
    }

    public static TheoryData<string> ForeignOrigins => new()
    {
        "https://evil.example",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://app.example.com.evil.example",
        "null",
        "not an origin",
    };

    [Theory]
    [MemberData(nameof(ForeignOrigins))]
    public async Task A_websocket_from_a_foreign_origin_is_a_403_json_and_the_app_sees_no_connection(string origin)
    {
        await using var app = await EchoApp.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(AppRoute(app.Address));
        var cookie = $"{WebexGateway.Auth.AuthExtensions.SessionCookieName}={browser.SessionCookie(gateway.Address)}";

        var refused = await Assert.ThrowsAsync<WebSocketException>(() => ConnectAsync(gateway.Address, "/apps/alerts/socket", origin, browser.Cookies));
        var raw = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/apps/alerts/socket", cookie, csrf: false,
            [.. UpgradeHeaders, $"Origin: {origin}"]));

        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        Assert.Equal(403, raw.Status);
        using var json = JsonDocument.Parse(raw.Body);
        Assert.Equal("websocket_origin_not_allowed", json.RootElement.GetProperty("error").GetString());
        Assert.Empty(app.Handshakes);
        Assert.Equal(0, app.Connections);
    }

    [Fact]
    public async Task Plain_requests_on_an_app_route_are_not_held_to_the_websocket_origin_rule()
    {
        await using var app = await EchoApp.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(AppRoute(app.Address));

        var page = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/apps/alerts/", cookie: null, csrf: false, "Origin: https://evil.example"));
        // No Origin is no browser's handshake (a browser always sends one): nothing of a user's to protect.
        using var noOrigin = await ConnectAsync(gateway.Address, "/apps/alerts/socket", origin: null);

        Assert.Equal(200, page.Status);
        Assert.Equal("from a program", await EchoAsync(noOrigin, "from a program"));
        Assert.Equal(2, app.Connections);
    }

    [Fact]
    public async Task Over_http2_an_extended_connect_websocket_echoes_from_the_gateways_origin_and_is_a_403_from_a_foreign_one()
    {
        await using var app = await EchoApp.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        // HTTP/2 without TLS (prior knowledge): what a TLS listener negotiates with ALPN.
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, settings: AppRoute(app.Address), output: output);
        gateway.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2));

        using var socket = await ConnectAsync(gateway.Address, "/apps/alerts/socket", Origin(gateway.Address), http2: true);
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => ConnectAsync(gateway.Address, "/apps/alerts/socket", "https://evil.example", http2: true));

        Assert.Equal("over one HTTP/2 stream", await EchoAsync(socket, "over one HTTP/2 stream"));
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        Assert.Single(app.Handshakes);
    }

    /// <summary>nginx (deploy/nginx/nginx.conf, pointed at a gateway on 127.0.0.1) in front of the gateway, the app behind it.</summary>
    [SkippableFact]
    public async Task Through_the_compose_stacks_nginx_and_the_gateway_a_websocket_on_an_app_route_echoes()
    {
        var nginx = SystemBinaries.Find("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null)
                    ?? throw SystemBinaries.Missing("no nginx on PATH or at /usr/sbin/nginx", "apt-get install -y nginx");
        await using var app = await EchoApp.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(AppRoute(app.Address));
        await using var edge = await NginxEdge.StartAsync(nginx, gateway.Address, output);

        using var socket = await ConnectAsync(edge.Address, "/apps/alerts/socket", Origin(edge.Address));
        var plain = await RawHttp.SendAsync(edge.Address, RawHttp.Get(edge.Address, "/apps/alerts/", csrf: false));
        var foreign = await RawHttp.SendAsync(edge.Address, RawHttp.Get(edge.Address, "/apps/alerts/socket", cookie: null, csrf: false,
            [.. UpgradeHeaders, "Origin: https://evil.example"]));

        Assert.Equal("through nginx and the gateway", await EchoAsync(socket, "through nginx and the gateway"));
        Assert.Equal(200, plain.Status);
        Assert.Equal(403, foreign.Status);
        Assert.Single(app.Handshakes);
    }

    internal static readonly string[] UpgradeHeaders =
        ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="];

    /// <summary>Lives as long as the sockets opened with it: each is a stream of one of its connections.</summary>
    private static readonly HttpMessageInvoker Http2Invoker = new(new SocketsHttpHandler { UseProxy = false });

    private static string Origin(Uri server) => server.GetLeftPart(UriPartial.Authority);

    private static async Task<ClientWebSocket> ConnectAsync(Uri server, string target, string? origin, CookieContainer? cookies = null, bool http2 = false)
    {
        var socket = new ClientWebSocket();
        if (http2)
        {
            socket.Options.HttpVersion = HttpVersion.Version20;
            socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        socket.Options.Cookies = cookies;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            var uri = new Uri($"ws://{server.Authority}{target}");
            if (http2)
            {
                await socket.ConnectAsync(uri, Http2Invoker, timeout.Token);
            }
            else
            {
                await socket.ConnectAsync(uri, timeout.Token);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<string> EchoAsync(ClientWebSocket socket, string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[4096];
        var received = new MemoryStream();
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token);
            received.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        return Encoding.UTF8.GetString(received.ToArray());
    }

    /// <summary>An app with a WebSocket: a tiny Kestrel app on 127.0.0.1 that echoes text frames and records each handshake.</summary>
    internal sealed class EchoApp : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _connections;

        private EchoApp(WebApplication app) => _app = app;

        public ConcurrentQueue<Handshake> Handshakes { get; } = new();

        /// <summary>Every request that reached the app, upgraded or not.</summary>
        public int Connections => Volatile.Read(ref _connections);

        public Uri Address => new(_app.Urls.First());

        public static async Task<EchoApp> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var echo = new EchoApp(app);
            app.UseWebSockets();
            app.Run(async context =>
            {
                Interlocked.Increment(ref echo._connections);
                if (!context.WebSockets.IsWebSocketRequest)
                {
                    await Results.Content("<!doctype html><title>Alerts</title>", "text/html").ExecuteAsync(context);
                    return;
                }

                echo.Handshakes.Enqueue(new Handshake(
                    context.Request.Path + context.Request.QueryString,
                    context.Request.Headers.Authorization.FirstOrDefault(),
                    context.Request.Headers.Cookie.FirstOrDefault()));
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[4096];
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                        return;
                    }

                    await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
                }
            });
            await app.StartAsync();
            return echo;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        public sealed record Handshake(string Target, string? Authorization, string? Cookie);
    }

    /// <summary>nginx with the compose stack's configuration, its upstream pointed at the gateways and listening on a free port.</summary>
    internal sealed partial class NginxEdge : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;

        private NginxEdge(Process process, string directory, Uri address)
        {
            _process = process;
            _directory = directory;
            Address = address;
        }

        public Uri Address { get; }

        public static Task<NginxEdge> StartAsync(string nginx, Uri gateway, ITestOutputHelper output) => StartAsync(nginx, [gateway], output);

        public static async Task<NginxEdge> StartAsync(string nginx, IReadOnlyList<Uri> gateways, ITestOutputHelper output)
        {
            var port = FreePort();
            var directory = Directory.CreateTempSubdirectory("gateway-nginx-").FullName;
            var config = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deploy", "nginx", "nginx.conf"));
            // The compose service names resolve only inside Docker, and Debian's nginx predates the `resolve` parameter.
            var servers = UpstreamServer().Matches(config);
            Assert.True(servers.Count >= gateways.Count, "the compose stack's nginx names fewer instances than asked for");
            for (var i = 0; i < servers.Count; i++)
            {
                config = config.Replace(servers[i].Value, i < gateways.Count ? $"server {gateways[i].Authority};" : "", StringComparison.Ordinal);
            }

            config = ResolverLine().Replace(config, "");
            config = ListenLine().Replace(config, $"listen 127.0.0.1:{port};");
            config = config.Replace("access_log /dev/stdout;", "access_log off;", StringComparison.Ordinal);
            var path = Path.Combine(directory, "nginx.conf");
            await File.WriteAllTextAsync(path, config);

            var start = new ProcessStartInfo(nginx)
            {
                ArgumentList = { "-e", "stderr", "-p", directory, "-c", path, "-g", $"daemon off; pid {Path.Combine(directory, "nginx.pid")};" },
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            var process = Process.Start(start)!;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    output.WriteLine($"nginx: {e.Data}");
                }
            };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var edge = new NginxEdge(process, directory, new Uri($"http://127.0.0.1:{port}/"));
            var clock = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(process.HasExited, $"nginx exited with {(process.HasExited ? process.ExitCode : 0)}");
                try
                {
                    using var probe = new System.Net.Sockets.TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, port);
                    return edge;
                }
                catch (System.Net.Sockets.SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(15))
                {
                    await Task.Delay(50);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
                // The workers' temporary folders may belong to nginx's unprivileged user.
            }
        }

        private static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private static string RepositoryRoot()
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("Gateway.sln not found above the test's folder.");
        }

        [GeneratedRegex(@"server gateway-\d+:\d+[^;]*;")]
        private static partial Regex UpstreamServer();

        [GeneratedRegex(@"^\s*resolver [^;]*;", RegexOptions.Multiline)]
        private static partial Regex ResolverLine();

        [GeneratedRegex(@"listen \d+;")]
        private static partial Regex ListenLine();
    }
}
