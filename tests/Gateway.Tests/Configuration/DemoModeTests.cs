using System.Net;
using WebexGateway.Demo;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Configuration;

[Collection(GatewayCollection.Name)]
public sealed class DemoModeTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task Without_a_client_id_in_development_the_gateway_serves_the_emulator_in_process_and_says_so()
    {
        await using var unused = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(unused, redis.ConnectionString, RedisFixture.NewKeyPrefix(),
            settings: new Dictionary<string, string?> { ["Webex:ClientId"] = "", ["Webex:ClientSecret"] = "" }, output: output);
        using var browser = new Browser();

        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login"));

        Assert.Equal(HttpStatusCode.Found, login.StatusCode);
        var authorize = login.Headers.Location!;
        Assert.Equal("127.0.0.1", authorize.Host);
        Assert.NotEqual(unused.BaseUrl.Port, authorize.Port);
        Assert.Contains($"client_id={DemoMode.ClientId}", authorize.Query);
        var consentPage = await browser.GetAsync(authorize);
        Assert.Equal(HttpStatusCode.OK, consentPage.StatusCode);
        Assert.Contains("Accept", await consentPage.Content.ReadAsStringAsync());
        Assert.Contains(gateway.Logs, line => line.Contains("DEMO MODE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task In_demo_mode_live_events_are_on_at_the_gateways_own_loopback_address()
    {
        await using var unused = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(unused, redis.ConnectionString, RedisFixture.NewKeyPrefix(),
            settings: new Dictionary<string, string?> { ["Webex:ClientId"] = "", ["Webex:ClientSecret"] = "" }, output: output);

        var target = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<WebexGateway.Webhooks.WebhookTarget>(gateway.Services);

        Assert.True(target.IsOn);
        Assert.Equal($"http://127.0.0.1:{gateway.Address.Port}/webhooks/webex", target.Url);
    }
}
