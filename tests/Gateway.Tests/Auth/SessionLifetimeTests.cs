using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebexGateway.Auth;
using WebexGateway.Storage;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;
using ZiggyCreatures.Caching.Fusion;

namespace WebexGateway.Tests.Auth;

[Collection(GatewayCollection.Name)]
public sealed class SessionLifetimeTests(RedisFixture redis, ITestOutputHelper output)
{
    private static readonly Dictionary<string, string?> Lifetimes = new()
    {
        ["Session:IdleTimeout"] = "02:00:00",
        ["Session:AbsoluteLifetime"] = "12:00:00",
    };

    [Fact]
    public async Task A_session_left_idle_ends()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (gateway, browser) = await world.SignedInAsync(Lifetimes, time);

        time.Advance(TimeSpan.FromMinutes(90));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
        time.Advance(TimeSpan.FromMinutes(150));

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
    }

    [Theory]
    [InlineData("/auth/user")]
    [InlineData("/webex/v1/people/me")]
    public async Task A_busy_session_still_ends_at_its_absolute_lifetime(string path)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (gateway, browser) = await world.SignedInAsync(Lifetimes, time);

        for (var hour = 1; hour < 12; hour++)
        {
            time.Advance(TimeSpan.FromHours(1));
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, path), csrf: true)).StatusCode);
        }

        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri(gateway.Address, path), csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
    }

    [Fact]
    public async Task Calls_through_the_proxy_alone_keep_a_session_alive_renewing_its_cookie_past_half_its_idle_time()
    {
        // The proxy answers a remembered cookie without ASP.NET Core's cookie handler (SessionCookies) until the handler
        // has something to do: here, the sliding renewal, which must still happen on a call that only goes to Webex.
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (gateway, browser) = await world.SignedInAsync(Lifetimes, time);
        var me = new Uri(gateway.Address, "/webex/v1/people/me");

        time.Advance(TimeSpan.FromMinutes(30));
        var early = await browser.GetAsync(me, csrf: true);
        Assert.Equal(HttpStatusCode.OK, early.StatusCode);
        Assert.False(early.Headers.Contains("Set-Cookie"), "a session at a quarter of its idle time is not renewed");

        time.Advance(TimeSpan.FromMinutes(40));
        var renewed = await browser.GetAsync(me, csrf: true);
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        Assert.Contains(renewed.Headers.GetValues("Set-Cookie"), c => c.StartsWith($"{AuthExtensions.SessionCookieName}=", StringComparison.Ordinal));

        // Past the first idle timeout (2 h after sign-in), within the renewed one.
        time.Advance(TimeSpan.FromMinutes(100));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(me, csrf: true)).StatusCode);

        time.Advance(TimeSpan.FromMinutes(121));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(me, csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
    }

    /// <remarks>
    /// From a cookie's third call on, its grant is answered from what the cookie remembers (<see cref="SignedInGrants"/>),
    /// without the cookie handler or a cache look-up, while the cached records hold (a day here, so that only the
    /// session's own times matter). The renewal past half the idle time must still come on time.
    /// </remarks>
    [Fact]
    public async Task A_cookie_answered_from_memory_is_still_renewed_past_half_its_idle_time()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = new Dictionary<string, string?>(Lifetimes)
        {
            ["Redis:CacheLifetime"] = "01:00:00",
            ["Redis:CacheLifetimeWhileSubscribed"] = "1.00:00:00",
        };
        var (gateway, browser) = await world.SignedInAsync(settings, time);
        var watch = gateway.Services.GetRequiredService<SubscriptionWatch>();
        for (var waited = 0; !watch.Hearing; waited++)
        {
            Assert.True(waited < 500, "the gateway never heard its subscription");
            await Task.Delay(20);
        }

        var me = new Uri(gateway.Address, "/webex/v1/people/me");
        for (var call = 0; call < 2; call++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(me, csrf: true)).StatusCode);
        }

        var lookUps = 0;
        var fusion = gateway.Services.GetRequiredService<IFusionCache>();
        fusion.Events.Memory.Hit += (_, _) => Interlocked.Increment(ref lookUps);
        fusion.Events.Memory.Miss += (_, _) => Interlocked.Increment(ref lookUps);

        time.Advance(TimeSpan.FromMinutes(59));
        var early = await browser.GetAsync(me, csrf: true);
        Assert.Equal(HttpStatusCode.OK, early.StatusCode);
        Assert.False(early.Headers.Contains("Set-Cookie"), "a session short of half its idle time is not renewed");
        Assert.Equal(0, Volatile.Read(ref lookUps)); // answered from the cookie's memory: what this test is about

        time.Advance(TimeSpan.FromMinutes(2));
        var renewed = await browser.GetAsync(me, csrf: true);
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        Assert.Contains(renewed.Headers.GetValues("Set-Cookie"), c => c.StartsWith($"{AuthExtensions.SessionCookieName}=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Served_over_https_the_session_cookie_takes_the_host_prefix()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Webex:RedirectUri"] = "https://gateway.example.com/auth/callback" });
        using var browser = world.NewBrowser();
        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login"));
        var consent = await browser.GetAsync(login.Headers.Location!);
        var callback = consent.Headers.Location!;
        Assert.Equal("gateway.example.com", callback.Host);

        // What the browser would do at https://gateway.example.com (send the Secure correlation cookie back), sent to
        // this gateway's real address over http, as a TLS-terminating proxy would.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.Address, callback.PathAndQuery));
        request.Headers.Add("Cookie", login.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, UseProxy = false });
        var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.Contains($"{AuthExtensions.SessionCookieName}=", StringComparison.Ordinal));
        Assert.StartsWith($"{AuthExtensions.SecureSessionCookieName}=", cookie);
        Assert.Contains("; path=/", cookie);
        Assert.Contains("; secure", cookie);
        Assert.Contains("; httponly", cookie);
        Assert.DoesNotContain("domain=", cookie);
    }
}
