using System.Net;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Apps;

[Collection(GatewayCollection.Name)]
public sealed class StaticAppTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_folder_app_is_served_under_its_path_and_shares_the_one_sign_in()
    {
        var folder = TempDirectory.Create("rooms-app");
        await File.WriteAllTextAsync(Path.Combine(folder, "index.html"), "<!doctype html><title>Rooms app</title><script src=\"app.js\"></script>");
        await File.WriteAllTextAsync(Path.Combine(folder, "app.js"), "console.log('rooms');");
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?>
        {
            ["Gateway:StaticApps:rooms:RequestPath"] = "/apps/rooms",
            ["Gateway:StaticApps:rooms:Folder"] = folder,
        });

        var page = await browser.GetAsync(new Uri(gateway.Address, "/apps/rooms/"));
        var script = await browser.GetAsync(new Uri(gateway.Address, "/apps/rooms/app.js"));
        var missing = await browser.GetAsync(new Uri(gateway.Address, "/apps/rooms/../../etc/passwd"));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Rooms app</title>", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        // Same origin, same cookie: the app calls Webex through the gateway with the sign-in the demo page made.
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/webex/v1/people/me"),
            headers: h => h.Referrer = new Uri(gateway.Address, "/apps/rooms/"))).StatusCode);
    }

    [Theory]
    [InlineData("/webex/rooms", "RequestPath")]
    [InlineData("apps/rooms", "RequestPath")]
    [InlineData("/apps/rooms", "Folder")]
    public async Task A_bad_static_app_fails_at_start_naming_the_key(string requestPath, string badKey)
    {
        var folder = badKey == "Folder" ? "/nonexistent/rooms-app" : TempDirectory.Create("rooms-app");
        await using var emulator = await Webex.Emulator.WebexEmulator.StartAsync();
        await using var gateway = new GatewayHost(emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(), settings: new Dictionary<string, string?>
        {
            ["Gateway:StaticApps:rooms:RequestPath"] = requestPath,
            ["Gateway:StaticApps:rooms:Folder"] = folder,
        }, output: output);

        var error = GatewayHost.StartupFailure(gateway);

        Assert.Contains($"Gateway:StaticApps:rooms:{badKey}", error.Message);
    }
}
