using System.Net;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Apps;

[Collection(GatewayCollection.Name)]
public sealed class CorsTests(RedisFixture redis, ITestOutputHelper output)
{
    private const string AllowedOrigin = "https://alerts.example.com";

    private static Dictionary<string, string?> Origins(params string[] origins) =>
        origins.Select((o, i) => ($"Gateway:AllowedOrigins:{i}", (string?)o)).ToDictionary(p => p.Item1, p => p.Item2);

    private static Task<HttpResponseMessage> PreflightAsync(Browser browser, Uri url, string origin, string method = "POST",
        string headers = "x-csrf,content-type") =>
        browser.SendAsync(HttpMethod.Options, url, csrf: false, headers: h =>
        {
            h.Add("Origin", origin);
            h.Add("Access-Control-Request-Method", method);
            h.Add("Access-Control-Request-Headers", headers);
        });

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    [Theory]
    [InlineData("/webex/v1/messages", "POST")]
    [InlineData("/webex/v1/rooms", "GET")]
    [InlineData("/auth/user", "GET")]
    [InlineData("/auth/logout", "POST")]
    public async Task A_preflight_from_an_allowed_origin_allows_credentials_and_the_csrf_header_and_never_reaches_webex(string path, string method)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Origins("https://other.example.com", AllowedOrigin));
        using var browser = world.NewBrowser();

        var preflight = await PreflightAsync(browser, new Uri(gateway.Address, path), AllowedOrigin, method);

        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(AllowedOrigin, Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(preflight, "Access-Control-Allow-Credentials"));
        Assert.Contains(method, Header(preflight, "Access-Control-Allow-Methods")!.Split(','));
        var allowedHeaders = Header(preflight, "Access-Control-Allow-Headers")!.Split(',').Select(h => h.Trim().ToLowerInvariant()).ToList();
        Assert.Contains("x-csrf", allowedHeaders);
        Assert.Contains("content-type", allowedHeaders);
        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task A_preflight_from_an_origin_not_listed_gets_no_cors_headers_and_never_reaches_webex()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Origins(AllowedOrigin));
        using var browser = world.NewBrowser();

        var webex = await PreflightAsync(browser, new Uri(gateway.Address, "/webex/v1/messages"), "https://evil.example");
        var auth = await PreflightAsync(browser, new Uri(gateway.Address, "/auth/logout"), "https://evil.example");
        var sibling = await PreflightAsync(browser, new Uri(gateway.Address, "/webex/v1/messages"), "https://alerts.example.com.evil.example");

        foreach (var preflight in new[] { webex, auth, sibling })
        {
            Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
            Assert.Null(Header(preflight, "Access-Control-Allow-Credentials"));
            Assert.Null(Header(preflight, "Access-Control-Allow-Headers"));
        }

        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task With_no_allowed_origins_a_preflight_gets_no_cors_headers()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var preflight = await PreflightAsync(browser, new Uri(gateway.Address, "/webex/v1/rooms"), AllowedOrigin, "GET");

        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task A_credentialed_call_from_an_allowed_origin_is_answered_with_its_origin_and_the_headers_a_script_may_read()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(Origins(AllowedOrigin));

        var rooms = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/webex/v1/rooms?max=5"), headers: h => h.Add("Origin", AllowedOrigin));
        var user = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/auth/user"), csrf: false, headers: h => h.Add("Origin", AllowedOrigin));
        var foreign = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/auth/user"), csrf: false, headers: h => h.Add("Origin", "https://evil.example"));

        Assert.Equal(HttpStatusCode.OK, rooms.StatusCode);
        Assert.Equal(AllowedOrigin, Header(rooms, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(rooms, "Access-Control-Allow-Credentials"));
        var exposed = Header(rooms, "Access-Control-Expose-Headers")!.Split(',').Select(h => h.Trim()).ToList();
        Assert.Contains("Link", exposed);
        Assert.Contains("TrackingID", exposed);
        Assert.True(rooms.Headers.Contains("Link"));
        Assert.Equal(AllowedOrigin, Header(user, "Access-Control-Allow-Origin"));
        Assert.Null(Header(foreign, "Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("https://*.example.com")]
    [InlineData("https://app.example.com/path")]
    [InlineData("app.example.com")]
    public async Task A_wildcard_or_a_non_origin_fails_at_start_naming_the_key(string origin)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix, settings: Origins(AllowedOrigin, origin), output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("Gateway:AllowedOrigins", error.Message);
    }
}
