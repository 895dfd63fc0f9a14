using Microsoft.Extensions.Options;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Configuration;

[Collection(GatewayCollection.Name)]
public sealed class ConfigurationTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task Outside_development_a_missing_client_secret_and_redirect_uri_fail_at_start_naming_the_keys()
    {
        await using var emulator = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(),
            settings: new Dictionary<string, string?> { ["Webex:ClientSecret"] = "" }, environment: "Production", output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains("Webex:ClientSecret", error.Message);
        Assert.Contains("Webex:RedirectUri", error.Message);
    }

    [Theory]
    [InlineData("Webex:BaseUrl", "not a url")]
    [InlineData("Webex:TokenUrl", "ftp://example.com/token")]
    [InlineData("Redis:KeyPrefix", "")]
    [InlineData("Redis:CacheLifetime", "00:00:00")]
    [InlineData("Redis:CacheLifetimeWhileSubscribed", "00:00:00")]
    [InlineData("Redis:CacheLifetimeWhileSubscribed", "2.00:00:00")]
    [InlineData("Gateway:SignInLimit:PermitLimit", "0")]
    [InlineData("Gateway:SignInLimit:FailedCallbackLimit", "0")]
    [InlineData("Gateway:SignInLimit:Window", "00:00:00")]
    [InlineData("Gateway:SignInLimit:Window", "2.00:00:00")]
    [InlineData("Gateway:KnownProxies:0", "not-an-address")]
    [InlineData("Gateway:KnownProxies:0", "10.0.0.0/40")]
    [InlineData("Gateway:MaxUploadBytes", "0")]
    [InlineData("Gateway:UploadRefreshWindow", "-00:01:00")]
    [InlineData("Gateway:UploadRefreshWindow", "2.00:00:00")]
    [InlineData("Gateway:RateLimit:PermitsPerMinute", "-1")]
    [InlineData("Gateway:RateLimit:DefaultRetryAfter", "00:00:00")]
    [InlineData("Gateway:RateLimit:MaxRetryAfter", "2.00:00:00")]
    [InlineData("Gateway:PublicUrl", "not a url")]
    [InlineData("Gateway:PublicUrl", "http://gateway.example.com")]
    [InlineData("Gateway:PublicUrl", "ftp://gateway.example.com")]
    [InlineData("Gateway:PublicUrl", "https://gateway.example.com/?hook=1")]
    [InlineData("Gateway:PublicUrl", "https://gateway.example.com/#hook")]
    [InlineData("Gateway:PublicUrl", "https://user:secret@gateway.example.com")]
    [InlineData("Webex:Events", "messages:created bogus:created")]
    [InlineData("Webex:Events", "messages:exploded")]
    [InlineData("Webex:Events", "messages")]
    [InlineData("Webex:Events", " ")]
    public async Task A_bad_value_fails_at_start_naming_the_key(string key, string value)
    {
        await using var emulator = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(),
            settings: new Dictionary<string, string?> { [key] = value }, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains(key, error.Message);
    }

    [Theory]
    [InlineData("https://gateway.example.com")]
    [InlineData("https://gateway.example.com/base/")]
    [InlineData("http://127.0.0.1:5080")]
    [InlineData("http://localhost:5080")]
    [InlineData("http://[::1]:5080")]
    public async Task A_public_url_that_is_https_or_loopback_http_starts(string publicUrl)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Gateway:PublicUrl"] = publicUrl, ["Webex:Events"] = "messages:created rooms:updated memberships:deleted" });

        using var http = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri(gateway.Address, "/healthz"))).StatusCode);
    }

    [Fact]
    public async Task A_configured_redirect_uri_wins_over_the_requests_host()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Webex:RedirectUri"] = "https://gateway.example.com/auth/callback" });
        using var browser = world.NewBrowser();

        var login = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/auth/login"), csrf: false,
            headers: h => h.Add("X-Forwarded-Host", "evil.example"));

        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(login.Headers.Location!.Query);
        Assert.Equal("https://gateway.example.com/auth/callback", query["redirect_uri"]);
    }
}
