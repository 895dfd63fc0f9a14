using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Time.Testing;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Auth;

/// <summary>Sign-in starts and failed callbacks per client address (the flood itself is in the hostile-input catalogue).</summary>
[Collection(GatewayCollection.Name)]
public sealed class SignInLimitTests(RedisFixture redis, ITestOutputHelper output)
{
    [Theory]
    [InlineData(null)]
    [InlineData("10.20.30.40")]
    [InlineData("192.0.2.0/24")]
    public async Task X_forwarded_for_from_a_proxy_that_is_not_known_does_not_change_the_client_address(string? knownProxy)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(knownProxy is null ? null : new Dictionary<string, string?> { ["Gateway:KnownProxies:0"] = knownProxy });

        var statuses = new List<int>();
        for (var i = 0; i < 11; i++)
        {
            statuses.Add((await StartAsync(gateway, $"X-Forwarded-For: 198.51.100.{i + 1}")).Status);
        }

        Assert.Equal([.. Enumerable.Repeat(302, 10), 429], statuses);
    }

    [Fact]
    public async Task Addresses_of_one_ipv6_64_share_a_limit_and_another_64_has_its_own()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Gateway:KnownProxies:0"] = "127.0.0.1" });

        var statuses = new List<int>();
        for (var i = 0; i < 11; i++)
        {
            statuses.Add((await StartAsync(gateway, $"X-Forwarded-For: 2001:db8:1:2::{i + 1:x}")).Status);
        }

        Assert.Equal([.. Enumerable.Repeat(302, 10), 429], statuses);
        Assert.Equal(302, (await StartAsync(gateway, "X-Forwarded-For: 2001:db8:1:3::1")).Status);
        Assert.Equal(302, (await StartAsync(gateway, "X-Forwarded-For: 203.0.113.1")).Status);
    }

    [Fact]
    public async Task The_window_runs_on_the_gateways_clock_and_retry_after_says_when_it_ends()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = world.AddGateway(time: time);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(302, (await StartAsync(gateway)).Status);
        }

        var refused = await StartAsync(gateway);
        Assert.Equal(429, refused.Status);
        Assert.Equal("60", refused.Header("Retry-After").Single());
        time.Advance(TimeSpan.FromSeconds(45));
        var later = await StartAsync(gateway);
        Assert.Equal(429, later.Status);
        Assert.Equal("15", later.Header("Retry-After").Single());

        time.Advance(TimeSpan.FromSeconds(15));

        Assert.Equal(302, (await StartAsync(gateway)).Status);
    }

    [Fact]
    public async Task Configured_limits_apply_and_a_successful_sign_in_is_no_failure()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(new Dictionary<string, string?>
        {
            ["Gateway:SignInLimit:PermitLimit"] = "4",
            ["Gateway:SignInLimit:FailedCallbackLimit"] = "1",
            ["Gateway:SignInLimit:Window"] = "00:10:00",
        });
        using var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        await browser.SignInAsync(gateway.Address);

        var failed = await GarbageCallbackAsync(gateway);
        var refused = await GarbageCallbackAsync(gateway);

        Assert.Equal(400, failed.Status);
        Assert.Equal(429, refused.Status);
        Assert.InRange(int.Parse(refused.Header("Retry-After").Single(), CultureInfo.InvariantCulture), 540, 600);
        Assert.Equal(3, world.Webex.TokenCalls); // two sign-ins and the one failure allowed
        Assert.Equal(429, (await StartAsync(gateway)).Status);
        // What was refused did not end the session that was made.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
    }

    [Fact]
    public async Task Ten_sign_ins_in_a_row_from_one_address_all_succeed()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();

        for (var i = 0; i < 10; i++)
        {
            using var browser = world.NewBrowser();
            Assert.Equal("/app", await browser.SignInAsync(gateway.Address, "/app"));
        }

        Assert.Equal(10, world.Webex.CodeExchanges);
    }

    private static Task<RawResponse> StartAsync(GatewayHost gateway, params string[] headers) =>
        RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/auth/login", null, false, headers));

    /// <summary>A sign-in started, then the callback with its real state and cookie but a code Webex never issued.</summary>
    private static async Task<RawResponse> GarbageCallbackAsync(GatewayHost gateway)
    {
        var login = await StartAsync(gateway);
        Assert.Equal(302, login.Status);
        var state = QueryHelpers.ParseQuery(new Uri(login.Header("Location").Single()).Query)["state"].ToString();
        var cookie = string.Join("; ", login.Header("Set-Cookie").Select(c => c.Split(';')[0]));
        return await RawHttp.SendAsync(gateway.Address,
            RawHttp.Get(gateway.Address, $"/auth/callback?code=garbage&state={Uri.EscapeDataString(state)}", cookie, false));
    }
}
