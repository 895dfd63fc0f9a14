using System.Net;
using Webex.Emulator;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Grants;

[Collection(GatewayCollection.Name)]
public sealed class ConcurrencyTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_hundred_requests_over_three_instances_with_a_five_second_refresh_cause_one_token_call()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (first, browser) = await world.SignedInAsync();
        var gateways = new[] { first, world.AddGateway(), world.AddGateway() };
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenDelay = TimeSpan.FromSeconds(5);
        world.Webex.Reset();

        var responses = await Task.WhenAll(Enumerable.Range(0, 100)
            .Select(i => browser.GetAsync(new Uri(gateways[i % 3].Address, "/webex/v1/people/me"), csrf: true)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, world.Webex.TokenCalls);
        Assert.DoesNotContain((await world.Redis.DumpAsync(world.KeyPrefix)).Keys, k => k.Contains(":lock:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Proactive_refresh_before_expiry_is_single_flight_across_instances_too()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var longSessions = new Dictionary<string, string?> { ["Session:IdleTimeout"] = "15.00:00:00", ["Session:AbsoluteLifetime"] = "30.00:00:00" };
        var (first, browser) = await world.SignedInAsync(longSessions, time);
        var second = world.AddGateway(longSessions, time);
        time.Advance(TimeSpan.FromDays(14) - TimeSpan.FromMinutes(20));
        world.Webex.TokenDelay = TimeSpan.FromMilliseconds(300);
        world.Webex.Reset();

        var responses = await Task.WhenAll(Enumerable.Range(0, 40)
            .Select(i => browser.GetAsync(new Uri((i % 2 == 0 ? first : second).Address, "/webex/v1/people/me"), csrf: true)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, world.Webex.TokenCalls);
        Assert.All(world.Webex.Requests, r => Assert.Equal($"Bearer {world.Webex.LastAccessToken}", r.Headers["Authorization"]));
    }

    [Fact]
    public async Task One_users_slow_or_failing_refresh_never_holds_up_another_user()
    {
        await using var world = await TestWorld.StartAsync(redis, output, options => options.AddGeneratedPeople(1));
        var gateway = world.AddGateway();
        var stuck = world.NewBrowser();
        var other = world.NewBrowser();
        var otherPerson = world.Webex.People.Single(p => p.Id != world.Person.Id);
        await stuck.SignInAsync(gateway.Address);
        await other.SignInAsync(gateway.Address, loginHint: otherPerson.Email);
        var api = new Uri(gateway.Address, "/webex/v1/people/me");

        // The first user's refresh hangs for 5 s; the other user's calls go straight through meanwhile.
        world.Webex.ExpireAccessTokens(world.Person.Id);
        world.Webex.TokenDelay = TimeSpan.FromSeconds(5);
        var stuckCall = stuck.GetAsync(api, csrf: true);
        await Task.Delay(200);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var otherCalls = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => other.GetAsync(api, csrf: true)));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2), $"the other user waited {started.Elapsed.TotalSeconds:F1} s");
        Assert.All(otherCalls, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.False(stuckCall.IsCompleted);
        Assert.Equal(HttpStatusCode.OK, (await stuckCall).StatusCode);

        // The first user's refresh now fails outright; the other user is not affected either.
        world.Webex.TokenDelay = TimeSpan.Zero;
        world.Webex.ExpireAccessTokens(world.Person.Id);
        world.Webex.TokenFault = TokenEndpointFault.ServerError;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await stuck.GetAsync(api, csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(api, csrf: true)).StatusCode);
        Assert.Equal(0, world.Webex.RefreshCallsFor(otherPerson.Id));
    }

    [Fact]
    public async Task Rotating_refresh_tokens_under_concurrency_across_instances_never_send_a_stale_one()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (first, browser) = await world.SignedInAsync();
        var gateways = new[] { first, world.AddGateway(), world.AddGateway() };
        world.Webex.RotateRefreshTokens = true;
        world.Webex.TokenDelay = TimeSpan.FromMilliseconds(200);

        for (var round = 1; round <= 3; round++)
        {
            world.Webex.ExpireAccessTokens();
            var responses = await Task.WhenAll(Enumerable.Range(0, 30)
                .Select(i => browser.GetAsync(new Uri(gateways[i % 3].Address, "/webex/v1/rooms?max=3"), csrf: true)));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            Assert.Equal(round, world.Webex.RefreshCalls);
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(first.Address, "/auth/user"))).StatusCode);
    }

    [Fact]
    public async Task A_client_that_leaves_mid_refresh_neither_cancels_it_for_others_nor_leaves_a_lock()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenDelay = TimeSpan.FromSeconds(2);
        world.Webex.Reset();
        var api = new Uri(gateway.Address, "/webex/v1/people/me");

        using (var impatient = new HttpClient(new SocketsHttpHandler { CookieContainer = browser.Cookies, UseProxy = false }) { Timeout = TimeSpan.FromMilliseconds(500) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, api);
            request.Headers.Add("X-CSRF", "1");
            await Assert.ThrowsAnyAsync<TaskCanceledException>(() => impatient.SendAsync(request));
        }

        var patient = await browser.GetAsync(api, csrf: true);

        Assert.Equal(HttpStatusCode.OK, patient.StatusCode);
        Assert.Equal(1, world.Webex.TokenCalls);
        Assert.DoesNotContain((await world.Redis.DumpAsync(world.KeyPrefix)).Keys, k => k.Contains(":lock:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Shutting_down_lets_a_request_in_a_slow_refresh_finish_and_leaves_no_lock()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenDelay = TimeSpan.FromSeconds(2);
        world.Webex.Reset();

        var inFlight = browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
        await WaitUntilAsync(() => world.Webex.TokenCalls == 1);
        await gateway.DisposeAsync();

        Assert.Equal(HttpStatusCode.OK, (await inFlight).StatusCode);
        Assert.DoesNotContain((await world.Redis.DumpAsync(world.KeyPrefix)).Keys, k => k.Contains(":lock:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_lock_left_by_a_holder_that_died_frees_itself_within_one_lease()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Webex:TokenRequestTimeout"] = "00:00:02" });
        world.Webex.ExpireAccessTokens();
        await world.Redis.Redis.GetDatabase().StringSetAsync($"{world.KeyPrefix}lock:refresh:{world.Person.Id}", "a-holder-that-died", TimeSpan.FromSeconds(2));

        var started = System.Diagnostics.Stopwatch.StartNew();
        var response = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal(1, world.Webex.RefreshCalls);
    }

    [Fact]
    public async Task A_token_endpoint_slower_than_the_timeout_is_504_json_with_retry_after_and_the_grant_is_kept()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Webex:TokenRequestTimeout"] = "00:00:01" });
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenDelay = TimeSpan.FromSeconds(3);

        var slow = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);

        Assert.Equal(HttpStatusCode.GatewayTimeout, slow.StatusCode);
        Assert.Equal("application/json", slow.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(slow.Headers.RetryAfter);
        world.Webex.TokenDelay = TimeSpan.Zero;
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
    }

    [Fact]
    public async Task A_token_endpoint_failing_again_and_again_trips_the_circuit_breaker_and_is_left_alone_for_a_while()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.TokenFault = TokenEndpointFault.ServerError; // a 500: not retried, so one call per refresh
        world.Webex.Reset();

        for (var attempt = 0; attempt < 10; attempt++)
        {
            world.Webex.ExpireAccessTokens();
            var response = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        // The breaker opens once it has seen six calls in 30 s, half of them failed: the sign-in's code exchange and five
        // failed refreshes. The remaining five refreshes never reached Webex.
        Assert.Equal(5, world.Webex.TokenCalls);
        Assert.Contains(gateway.Logs, line => line.Contains("paused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refused_connections_to_the_token_endpoint_are_retried_then_503_and_the_grant_is_kept()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (healthy, browser) = await world.SignedInAsync();
        var cutOff = world.AddGateway(new Dictionary<string, string?> { ["Webex:TokenUrl"] = $"http://127.0.0.1:{FreePort()}/v1/access_token" });
        world.Webex.ExpireAccessTokens();

        var refused = await browser.GetAsync(new Uri(cutOff.Address, "/webex/v1/people/me"), csrf: true);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(2, cutOff.Logs.Count(line => line.Contains("OnRetry", StringComparison.Ordinal) && line.StartsWith("Warning", StringComparison.Ordinal)));
        Assert.Contains((await world.Redis.DumpAsync(world.KeyPrefix)).Keys, k => k.Contains(":grant:", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(healthy.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }
}
