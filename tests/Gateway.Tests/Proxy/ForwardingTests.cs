using System.Net;
using System.Text.Json;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Proxy;

[Collection(GatewayCollection.Name)]
public sealed class ForwardingTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_call_reaches_webex_with_the_users_bearer_and_none_of_the_browsers_credentials()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.Reset();

        var response = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/webex/v1/people/me"), headers: h =>
        {
            h.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "browser-supplied");
            h.Add("X-Forwarded-For", "203.0.113.9");
            h.Add("X-Forwarded-Host", "evil.example");
            h.Add("Forwarded", "for=203.0.113.9");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var me = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(world.Person.Id, me.RootElement.GetProperty("id").GetString());
        Assert.True(response.Headers.Contains("TrackingID"));
        var received = Assert.Single(world.Webex.Requests);
        Assert.Equal("/v1/people/me", received.RawTarget);
        Assert.Equal($"Bearer {world.Webex.LastAccessToken}", received.Headers["Authorization"]);
        Assert.False(received.Headers.ContainsKey("Cookie"));
        Assert.DoesNotContain(received.Headers.Keys, k => k.StartsWith("X-Forwarded", StringComparison.OrdinalIgnoreCase) || k == "Forwarded");
    }

    [Fact]
    public async Task Query_strings_and_percent_encoded_paths_reach_webex_unchanged()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var roomId = world.Webex.RoomIds.First(id => id.Contains('/') && id.Contains('+'));
        var encoded = Uri.EscapeDataString(roomId);
        Assert.Contains("%2F", encoded);
        world.Webex.Reset();

        var room = await browser.GetAsync(new Uri(gateway.Address, $"/webex/v1/rooms/{encoded}?a=x%20y&b=%2F%26&c=1&c=2"), csrf: true);

        Assert.Equal(HttpStatusCode.OK, room.StatusCode);
        using var json = JsonDocument.Parse(await room.Content.ReadAsStringAsync());
        Assert.Equal(roomId, json.RootElement.GetProperty("id").GetString());
        Assert.Equal($"/v1/rooms/{encoded}?a=x%20y&b=%2F%26&c=1&c=2", Assert.Single(world.Webex.Requests).RawTarget);
    }

    [Fact]
    public async Task Link_headers_point_back_at_the_gateway_so_pagination_works_through_it()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();

        var seen = new List<string>();
        var next = new Uri(gateway.Address, "/webex/v1/rooms?max=10");
        var pages = 0;
        while (true)
        {
            var page = await browser.GetAsync(next, csrf: true);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            pages++;
            using var json = JsonDocument.Parse(await page.Content.ReadAsStringAsync());
            seen.AddRange(json.RootElement.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()!));
            if (!page.Headers.TryGetValues("Link", out var links))
            {
                break;
            }

            var link = Assert.Single(links);
            Assert.StartsWith("</webex/v1/rooms?", link);
            Assert.EndsWith("rel=\"next\"", link);
            Assert.DoesNotContain(world.Emulator.BaseUrl.Authority, link);
            next = new Uri(gateway.Address, link[1..link.IndexOf('>')]);
        }

        Assert.Equal(3, pages);
        Assert.Equal(world.Webex.RoomIds.Order(), seen.Order());
    }

    [Fact]
    public async Task Without_the_csrf_header_the_call_is_403_json_and_never_reaches_webex()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.Reset();

        var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), Browser.Json("{}"), csrf: false);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task Without_a_session_the_call_is_401_login_required()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var response = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/rooms"), csrf: true);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
        Assert.StartsWith("/auth/login?returnUrl=", json.RootElement.GetProperty("loginUrl").GetString());
        Assert.Empty(world.Webex.Requests);
    }

    [Theory]
    [InlineData("/webex/v1/%2e%2e/%2e%2e/auth/user")]
    [InlineData("/webex/v1/people/%2E%2E")]
    [InlineData("/webex/v1/./people/me")]
    [InlineData("/webex/v1/people/%2e%2e%2fme")]
    public async Task Dot_segments_never_reach_webex(string path)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.Reset();

        // HttpClient normalizes dot segments away, so the request line goes over the wire as written.
        var response = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, path, browser.Cookies.GetCookieHeader(gateway.Address)));

        // Kestrel resolves literal and %2e dot segments before routing, so most of these never match /webex at all;
        // what still matches is refused. Either way nothing reaches Webex and nothing fails.
        Assert.False(response.NoResponse, $"{path}: no response");
        Assert.True(response.Status < 500, $"{path} answered {response.Status}");
        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task Webex_errors_pass_through_with_their_tracking_id()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();

        var missing = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/rooms/does-not-exist"), csrf: true);
        world.Webex.RateLimitNextApiCalls = 1;
        var limited = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/rooms"), csrf: true);

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.True(missing.Headers.Contains("TrackingID"));
        using var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        Assert.True(error.RootElement.TryGetProperty("trackingId", out _));
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), limited.Headers.RetryAfter!.Delta);
    }
}
