using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Webex.Emulator;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Grants;

[Collection(GatewayCollection.Name)]
public sealed class RefreshTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_get_survives_an_expired_token_with_one_refresh_and_a_replay()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var firstToken = world.Webex.LastAccessToken;
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();

        var response = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
        Assert.Equal(2, world.Webex.Requests.Count);
        Assert.Equal($"Bearer {firstToken}", world.Webex.Requests[0].Headers["Authorization"]);
        Assert.Equal($"Bearer {world.Webex.LastAccessToken}", world.Webex.Requests[1].Headers["Authorization"]);
        Assert.NotEqual(firstToken, world.Webex.LastAccessToken);
    }

    [Fact]
    public async Task A_post_with_a_body_survives_an_expired_token_and_the_body_is_sent_again()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var roomId = world.Webex.RoomIds[0];
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();
        var body = JsonSerializer.Serialize(new { roomId, text = "hello through the gateway ✓" });

        var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), Browser.Json(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("hello through the gateway ✓", message.RootElement.GetProperty("text").GetString());
        Assert.Equal(1, world.Webex.RefreshCalls);
        Assert.Equal(2, world.Webex.Requests.Count);
        Assert.All(world.Webex.Requests, r => Assert.Equal(body, Encoding.UTF8.GetString(r.Body)));
        var listed = await browser.GetAsync(new Uri(gateway.Address, $"/webex/v1/messages?roomId={Uri.EscapeDataString(roomId)}"), csrf: true);
        using var list = JsonDocument.Parse(await listed.Content.ReadAsStringAsync());
        Assert.Equal(1, list.RootElement.GetProperty("items").EnumerateArray().Count(m => m.GetProperty("text").GetString() == "hello through the gateway ✓"));
    }

    [Fact]
    public async Task Fifty_concurrent_requests_after_expiry_cause_exactly_one_token_call()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenDelay = TimeSpan.FromMilliseconds(300); // keep the refresh open while the others arrive
        world.Webex.Reset();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(_ => browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, world.Webex.TokenCalls);
    }

    [Fact]
    public async Task Two_instances_share_the_session_and_25_plus_25_concurrent_requests_cause_one_token_call()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (first, browser) = await world.SignedInAsync();
        var second = world.AddGateway();

        var onSecond = await browser.GetAsync(new Uri(second.Address, "/webex/v1/people/me"), csrf: true);
        Assert.Equal(HttpStatusCode.OK, onSecond.StatusCode);

        world.Webex.ExpireAccessTokens();
        world.Webex.TokenDelay = TimeSpan.FromMilliseconds(300);
        world.Webex.Reset();
        var requests = Enumerable.Range(0, 50)
            .Select(i => browser.GetAsync(new Uri(i % 2 == 0 ? first.Address : second.Address, "/webex/v1/rooms?max=5"), csrf: true));
        var responses = await Task.WhenAll(requests);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, world.Webex.TokenCalls);
    }

    [Fact]
    public async Task Invalid_grant_on_refresh_deletes_the_grant_and_answers_login_required()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.ExpireAccessTokens();
        world.Webex.RevokeRefreshTokens();

        var response = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain((await world.Redis.DumpAsync(world.KeyPrefix)).Keys, k => k.Contains(":grant:", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
    }

    [Theory]
    [InlineData(TokenEndpointFault.ServerError)]
    [InlineData(TokenEndpointFault.Unavailable)]
    [InlineData(TokenEndpointFault.DropConnection)]
    public async Task A_failing_token_endpoint_is_a_503_that_keeps_the_grant_and_the_next_request_recovers(TokenEndpointFault fault)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenFault = fault;

        var failed = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.NotNull(failed.Headers.RetryAfter);
        using (var json = JsonDocument.Parse(await failed.Content.ReadAsStringAsync()))
        {
            Assert.Equal("temporarily_unavailable", json.RootElement.GetProperty("error").GetString());
        }

        Assert.Contains((await world.Redis.DumpAsync(world.KeyPrefix)).Keys, k => k.Contains(":grant:", StringComparison.Ordinal));

        world.Webex.TokenFault = TokenEndpointFault.None;
        var recovered = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Fact]
    public async Task A_token_about_to_expire_is_refreshed_before_use()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var longSessions = new Dictionary<string, string?> { ["Session:IdleTimeout"] = "15.00:00:00", ["Session:AbsoluteLifetime"] = "30.00:00:00" };
        var (gateway, browser) = await world.SignedInAsync(longSessions, time);
        var firstToken = world.Webex.LastAccessToken;

        // 14 days minus 30 minutes later the token is inside the one-hour refresh window, though still valid at Webex.
        time.Advance(TimeSpan.FromDays(14) - TimeSpan.FromMinutes(30));
        world.Webex.Reset();
        var response = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
        var received = Assert.Single(world.Webex.Requests);
        Assert.NotEqual($"Bearer {firstToken}", received.Headers["Authorization"]);
        Assert.Equal($"Bearer {world.Webex.LastAccessToken}", received.Headers["Authorization"]);

        var user = await browser.GetAsync(new Uri(gateway.Address, "/auth/user"));
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        Assert.Equal(time.GetUtcNow().AddDays(14).ToUnixTimeSeconds(), json.RootElement.GetProperty("accessTokenExpiresAt").GetDateTimeOffset().ToUnixTimeSeconds(), tolerance: 5);
    }

    [Fact]
    public async Task A_body_too_large_to_replay_gets_the_401_after_a_refresh_and_the_retry_succeeds()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Gateway:MaxReplayBodyBytes"] = "64" });
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();
        var body = JsonSerializer.Serialize(new { roomId = world.Webex.RoomIds[0], text = new string('x', 200) });

        var first = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), Browser.Json(body));

        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        using (var error = JsonDocument.Parse(await first.Content.ReadAsStringAsync()))
        {
            Assert.True(error.RootElement.TryGetProperty("trackingId", out _)); // Webex's own 401, passed on
        }

        Assert.Equal(1, world.Webex.RefreshCalls);
        var retry = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), Browser.Json(body));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
    }

    [Fact]
    public async Task A_chunked_body_is_streamed_once_and_not_replayed()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();
        var json = JsonSerializer.Serialize(new { roomId = world.Webex.RoomIds[0], text = "streamed" });
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), content,
            headers: h => h.TransferEncodingChunked = true);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var received = Assert.Single(world.Webex.Requests);
        Assert.Equal(json, Encoding.UTF8.GetString(received.Body));
        Assert.Equal(1, world.Webex.RefreshCalls);
    }

    [Fact]
    public async Task With_rotating_refresh_tokens_each_refresh_keeps_the_new_one()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.RotateRefreshTokens = true;

        for (var round = 1; round <= 3; round++)
        {
            world.Webex.ExpireAccessTokens();
            var response = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(round, world.Webex.RefreshCalls);
        }
    }
}
