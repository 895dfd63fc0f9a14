using System.Net;
using System.Text.Json;
using WebexGateway.Storage;
using WebexGateway.Tests.Infrastructure;

namespace WebexGateway.Tests.Storage;

[Collection(GatewayCollection.Name)]
public sealed class StorageTests(RedisFixture redis)
{
    [Fact]
    public async Task Redis_holds_no_token_in_plaintext_and_every_key_starts_with_the_prefix()
    {
        await using var world = await TestWorld.StartAsync(redis);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.ExpireAccessTokens();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);

        var dump = await world.Redis.DumpAsync(world.KeyPrefix);

        Assert.Contains(dump.Keys, k => k.StartsWith($"{world.KeyPrefix}grant:", StringComparison.Ordinal));
        Assert.Contains(dump.Keys, k => k.StartsWith($"{world.KeyPrefix}session:", StringComparison.Ordinal));
        Assert.Contains($"{world.KeyPrefix}data-protection-keys", dump.Keys);
        Assert.True(world.Webex.IssuedSecrets.Count >= 4); // code, two access tokens, refresh token
        foreach (var secret in world.Webex.IssuedSecrets)
        {
            Assert.DoesNotContain(dump, entry => entry.Value.Contains(secret, StringComparison.Ordinal) || entry.Key.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Readyz_follows_redis_down_and_back_up_without_a_restart()
    {
        var directory = TempDirectory.Create("readyz");
        var store = new EmbeddedRedisServer(directory);
        var port = store.Port;
        await using var world = await TestWorld.StartAsync(redis);
        var gateway = world.AddGateway(redis: store.ConnectionString);
        using var browser = world.NewBrowser();
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/readyz"))).StatusCode);
            await browser.SignInAsync(gateway.Address);

            store.Dispose();
            var started = DateTime.UtcNow;
            var down = await browser.GetAsync(new Uri(gateway.Address, "/readyz"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
            using (var json = JsonDocument.Parse(await down.Content.ReadAsStringAsync()))
            {
                Assert.Equal("Unhealthy", json.RootElement.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
            }

            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/healthz"))).StatusCode);
            started = DateTime.UtcNow;
            var user = await browser.GetAsync(new Uri(gateway.Address, "/auth/user"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, user.StatusCode);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
            var call = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, call.StatusCode);
            Assert.Equal("application/json", call.Content.Headers.ContentType?.MediaType);

            // Same data back (the store's append-only file): the same cookie works again, no gateway restart.
            store = new EmbeddedRedisServer(directory, port);
            await WaitUntilAsync(async () => (await browser.GetAsync(new Uri(gateway.Address, "/readyz"))).StatusCode == HttpStatusCode.OK);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        }
        finally
        {
            store.Dispose();
        }
    }

    [Fact]
    public async Task With_no_connection_string_the_gateway_embeds_its_store_and_keeps_grants_across_a_restart()
    {
        var directory = TempDirectory.Create("embedded");
        var settings = new Dictionary<string, string?> { ["Redis:DataDirectory"] = directory };
        await using var world = await TestWorld.StartAsync(redis);
        var first = world.AddGateway(settings, redis: "");
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(first.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.True(Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Any());
        var cookie = browser.SessionCookie(first.Address)!;
        await first.DisposeAsync();

        var second = world.AddGateway(settings, redis: "");
        using var returning = world.NewBrowser();
        returning.Cookies.Add(second.Address, new Cookie("webex-gateway.session", cookie));

        var response = await returning.GetAsync(new Uri(second.Address, "/webex/v1/people/me"), csrf: true);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, world.Webex.CodeExchanges);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(200);
        }
    }
}
