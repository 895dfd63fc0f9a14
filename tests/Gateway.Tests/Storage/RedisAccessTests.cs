using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using WebexGateway.Tests.Infrastructure;
using WebexGateway.Tests.Webhooks;
using WebexGateway.Webhooks;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Storage;

/// <summary>
/// Whoever can write to Redis owns the gateway, so the README recommends TLS and an ACL user limited to the gateway's
/// keys, channels and commands. This runs the README's ACL line, as written there, on a real redis-server with TLS only.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RedisAccessTests(RedisFixture redis, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task The_readmes_acl_user_over_tls_is_all_a_gateway_needs_and_reaches_nothing_else()
    {
        SystemBinaries.Require("redis-server", SystemBinaries.RedisServerInstall);
        await using var world = await TestWorld.StartAsync(redis, output);
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var acl = ReadmeAclLine().Replace(">CHANGE-ME", $">{password}", StringComparison.Ordinal)
            .Replace("webex-gateway:", world.KeyPrefix, StringComparison.Ordinal);
        using var server = await TlsRedisServer.StartAsync(acl);
        var connectionString = server.ConnectionString("webex-gateway", password);
        var settings = new Dictionary<string, string?>
        {
            ["Redis:CaCertificatePath"] = server.CaCertificatePath,
            ["Redis:WaitForReplicas"] = "1",
            ["Telemetry:Prometheus"] = "true",
            ["Gateway:PublicUrl"] = "http://127.0.0.1:1",
            ["Webex:Scopes"] = "spark:people_read spark:rooms_read spark:messages_write spark:messages_read",
        };

        // Two instances: sign-in, calls, a refresh under the lock, the keep-alive, metrics, and a logout heard by the other.
        var first = world.AddGateway(settings, redis: connectionString);
        var second = world.AddGateway(settings, redis: connectionString);
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        await first.Services.GetRequiredService<WebhookLifecycle>().IdleAsync();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(first.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(second.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        world.Webex.ExpireAccessTokens();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(first.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(first.Address, "/readyz"))).StatusCode);
        Assert.Matches(@"(?m)^webex_gateway_grants(\{[^}]*\})? 1( |$)", await (await browser.GetAsync(new Uri(first.Address, "/metrics"))).Content.ReadAsStringAsync());

        // Live events: the sign-in's webhooks and the periodic check; a stream on one instance (its slot, the log, the
        // channel) hears a delivery received by the other, and session_ended when the person logs out there, and the
        // webhooks go.
        await first.Services.GetRequiredService<WebhookCheck>().RunOnceAsync(CancellationToken.None);
        await using var events = await Events.EventStreamClient.OpenAsync(browser, first);
        Assert.Equal(HttpStatusCode.OK, events.Status);
        await events.NextAsync();
        var webhooks = first.Services.GetRequiredService<WebhookStore>();
        var record = (await webhooks.GetAsync((await webhooks.IdsOfAsync(world.Person.Id))[0]))!;
        var delivery = WebhookDeliveries.Body(record);
        Assert.Equal(HttpStatusCode.NoContent, (await WebhookDeliveries.PostAsync(second, delivery, WebhookDeliveries.Sign(record.Secret, delivery))).StatusCode);
        Assert.Equal($"{record.Resource}.{record.Event}", (await events.NextEventAsync()).Event);

        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(HttpMethod.Post, new Uri(second.Address, "/auth/logout"))).StatusCode);
        Assert.Equal("session_ended", (await events.NextEventAsync()).Event);
        await second.Services.GetRequiredService<WebhookLifecycle>().IdleAsync();
        Assert.Empty(await webhooks.IdsOfAsync(world.Person.Id));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri(first.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);

        // Nothing the gateway did was refused: the ACL line is enough.
        using var admin = server.ConnectAdmin();
        var refusals = (RedisResult[])(await admin.GetDatabase().ExecuteAsync("ACL", "LOG"))!;
        Assert.True(refusals.Length == 0, "refused by the ACL: " + string.Join("; ", refusals.Select(Describe)));

        // And it is not more than that: no other key, channel or command, and no plain-text connection at all.
        var options = ConfigurationOptions.Parse(connectionString);
        options.TrustIssuer(server.CaCertificatePath);
        options.AllowAdmin = true; // else the client itself refuses KEYS, CONFIG and FLUSHALL before Redis could
        using (var gatewayUser = await ConnectionMultiplexer.ConnectAsync(options))
        {
            var db = gatewayUser.GetDatabase();
            Assert.Contains("NOPERM", (await Assert.ThrowsAsync<RedisServerException>(() => db.StringGetAsync("another-app:secret"))).Message);
            Assert.Contains("NOPERM", (await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("KEYS", "*"))).Message);
            Assert.Contains("NOPERM", (await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("CONFIG", "GET", "*"))).Message);
            Assert.Contains("NOPERM", (await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("FLUSHALL"))).Message);
            Assert.Contains("NOPERM", (await Assert.ThrowsAsync<RedisServerException>(() => db.PublishAsync(RedisChannel.Literal("another-app:events"), "x"))).Message);
        }

        var plain = await Record.ExceptionAsync(() => RedisProcesses.CommandAsync(server.Port, "PING"));
        Assert.True(plain is IOException or OperationCanceledException or RedisReplyException, $"a plain-text PING got {plain?.GetType().Name ?? "an answer"}");

        // A gateway that does not trust the CA does not talk to that server at all.
        var untrusting = world.AddGateway(new Dictionary<string, string?>(), redis: connectionString);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await browser.GetAsync(new Uri(untrusting.Address, "/readyz"))).StatusCode);
    }

    [Fact]
    public async Task A_ca_certificate_path_that_is_not_a_certificate_fails_at_start_naming_the_key()
    {
        await using var emulator = await Webex.Emulator.WebexEmulator.StartAsync();
        var notACertificate = Path.Combine(TempDirectory.Create("ca"), "ca.crt");
        await File.WriteAllTextAsync(notACertificate, "not a certificate");
        foreach (var path in new[] { "/nonexistent/ca.crt", notACertificate })
        {
            await using var gateway = new GatewayHost(emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(),
                settings: new Dictionary<string, string?> { ["Redis:CaCertificatePath"] = path }, output: output);

            Assert.Contains("Redis:CaCertificatePath", GatewayHost.StartupFailure(gateway).Message);
        }
    }

    /// <summary>The <c>user webex-gateway on ...</c> line of the README's ACL example.</summary>
    private static string ReadmeAclLine()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        var lines = File.ReadAllLines(Path.Combine(directory.FullName, "README.md"))
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("user webex-gateway on ", StringComparison.Ordinal))
            .ToArray();
        return Assert.Single(lines);
    }

    private static string Describe(RedisResult entry)
    {
        var fields = (RedisResult[])entry!;
        var pairs = new List<string>();
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            var name = (string?)fields[i];
            if (name is "reason" or "context" or "object" or "username")
            {
                pairs.Add($"{name}={(string?)fields[i + 1]}");
            }
        }

        return string.Join(" ", pairs);
    }
}
