using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Apps;

[Collection(GatewayCollection.Name)]
public sealed class AppRouteTests(RedisFixture redis, ITestOutputHelper output)
{
    private static Dictionary<string, string?> AppRoute(Uri devServer) => new()
    {
        ["ReverseProxy:Routes:alerts-app:ClusterId"] = "alerts-app",
        ["ReverseProxy:Routes:alerts-app:Match:Path"] = "/apps/alerts/{**path}",
        ["ReverseProxy:Clusters:alerts-app:Destinations:dev:Address"] = devServer.ToString(),
    };

    [Fact]
    public async Task An_app_route_serves_its_upstream_same_origin_and_the_app_shares_the_users_sign_in()
    {
        await using var devServer = await DevServer.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(AppRoute(devServer.Address));
        browser.Cookies.Add(gateway.Address, new Cookie("theme", "dark"));
        world.Webex.Reset();

        var page = await browser.GetAsync(new Uri(gateway.Address, "/apps/alerts/index.html?v=2"));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var seen = Assert.Single(devServer.Requests);
        Assert.Equal("/apps/alerts/index.html?v=2", seen.Target);
        Assert.Null(seen.Authorization);
        Assert.Equal("theme=dark", seen.Cookie);
        Assert.Empty(world.Webex.Requests);

        // The app's script calls Webex through the same origin with the same cookie: one sign-in serves both.
        var user = await browser.GetAsync(new Uri(gateway.Address, "/auth/user"));
        var me = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var json = JsonDocument.Parse(await me.Content.ReadAsStringAsync());
        Assert.Equal(world.Person.Id, json.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task An_app_route_needs_no_session_and_no_csrf_header_and_its_posts_reach_the_app()
    {
        await using var devServer = await DevServer.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(AppRoute(devServer.Address));
        using var stranger = world.NewBrowser();

        var page = await stranger.GetAsync(new Uri(gateway.Address, "/apps/alerts/"));
        var post = await stranger.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/apps/alerts/api/ack"), Browser.Json("{}"), csrf: false);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal(["/apps/alerts/", "/apps/alerts/api/ack"], devServer.Requests.Select(r => r.Target));
        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task An_app_upstream_that_is_down_is_a_502_json_naming_the_app_not_webex()
    {
        var closedPort = DevServer.FreePort();
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(AppRoute(new Uri($"http://127.0.0.1:{closedPort}/")));
        using var browser = world.NewBrowser();

        var page = await browser.GetAsync(new Uri(gateway.Address, "/apps/alerts/"));

        Assert.Equal(HttpStatusCode.BadGateway, page.StatusCode);
        using var json = JsonDocument.Parse(await page.Content.ReadAsStringAsync());
        Assert.Equal("upstream_unavailable", json.RootElement.GetProperty("error").GetString());
        Assert.Contains("app", json.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Served_over_https_the_gateways_host_prefixed_cookies_never_reach_an_app_and_its_nosniff_is_not_doubled()
    {
        await using var devServer = await DevServer.StartAsync();
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = AppRoute(devServer.Address);
        settings["Webex:RedirectUri"] = "https://gateway.example.com/auth/callback";
        var gateway = world.AddGateway(settings);

        var page = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/apps/alerts/", csrf: false,
            cookie: "__Host-webex-gateway.session=s; __Host-webex-gateway.correlation.nonce=N; theme=dark; .AspNetCore.Correlation.x=N"));

        Assert.Equal(200, page.Status);
        Assert.Equal("theme=dark", Assert.Single(devServer.Requests).Cookie);
        // The app sends nosniff itself; the gateway's own is not added to it a second time.
        Assert.Equal(["nosniff"], page.Header("X-Content-Type-Options"));
    }

    /// <summary>A frontend's dev server: a tiny Kestrel app on 127.0.0.1 that records what reached it.</summary>
    private sealed class DevServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private DevServer(WebApplication app) => _app = app;

        public System.Collections.Concurrent.ConcurrentQueue<Seen> Requests { get; } = new();

        public Uri Address => new(_app.Urls.First());

        public static async Task<DevServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var server = new DevServer(app);
            app.Run(context =>
            {
                server.Requests.Enqueue(new Seen(
                    context.Request.Path + context.Request.QueryString,
                    context.Request.Headers.Authorization.FirstOrDefault(),
                    context.Request.Headers.Cookie.FirstOrDefault()));
                context.Response.Headers.XContentTypeOptions = "nosniff";
                return Results.Content("<!doctype html><title>Alerts</title><script src=\"app.js\"></script>", "text/html").ExecuteAsync(context);
            });
            await app.StartAsync();
            return server;
        }

        public static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        public sealed record Seen(string Target, string? Authorization, string? Cookie);
    }
}
