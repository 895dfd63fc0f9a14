using System.Net;
using System.Runtime.Versioning;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WebexGateway.Auth;
using WebexGateway.Storage;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Storage;

[Collection(GatewayCollection.Name)]
public sealed class StorageTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task Redis_holds_no_token_in_plaintext_and_every_key_starts_with_the_prefix()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
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
    public async Task Redis_down_is_503_within_two_seconds_or_served_from_memory_and_everything_returns_without_a_restart()
    {
        var directory = TempDirectory.Create("outage");
        var store = new EmbeddedRedisServer(directory);
        var port = store.Port;
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(redis: store.ConnectionString);
        var other = world.AddGateway(redis: store.ConnectionString);
        var known = world.NewBrowser();
        var unknown = world.NewBrowser();
        try
        {
            var ready = await known.GetAsync(new Uri(gateway.Address, "/readyz"));
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            using (var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()))
            {
                Assert.Equal("Healthy", json.RootElement.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
                Assert.Equal("Healthy", json.RootElement.GetProperty("checks").GetProperty("key-ring").GetProperty("status").GetString());
            }

            await known.SignInAsync(gateway.Address);
            await unknown.SignInAsync(other.Address); // a session the first gateway has never read

            store.Dispose();

            var down = await TimedAsync(() => known.GetAsync(new Uri(gateway.Address, "/readyz")));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            using (var json = JsonDocument.Parse(await down.Content.ReadAsStringAsync()))
            {
                Assert.Equal("Unhealthy", json.RootElement.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
            }

            Assert.Equal(HttpStatusCode.OK, (await TimedAsync(() => known.GetAsync(new Uri(gateway.Address, "/healthz")))).StatusCode);

            // What this instance read moments ago it still serves: the user keeps working through the outage.
            Assert.Equal(HttpStatusCode.OK, (await TimedAsync(() => known.GetAsync(new Uri(gateway.Address, "/auth/user")))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await TimedAsync(() => known.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true))).StatusCode);

            // What it never read, it cannot vouch for: 503 JSON, not 401 (nothing is known to be wrong) and not 500.
            var unknownCall = await TimedAsync(() => unknown.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unknownCall.StatusCode);
            Assert.Equal("application/json", unknownCall.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(unknownCall.Headers.RetryAfter);

            // A refresh needs the store: 503, and the grant is not touched.
            world.Webex.ExpireAccessTokens();
            var refreshCall = await TimedAsync(() => known.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refreshCall.StatusCode);

            // Same data back (the store's append-only file): every cookie works again, no gateway restart.
            store = new EmbeddedRedisServer(directory, port);
            await WaitUntilAsync(async () => (await known.GetAsync(new Uri(gateway.Address, "/readyz"))).StatusCode == HttpStatusCode.OK);
            Assert.Equal(HttpStatusCode.OK, (await known.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await unknown.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
            Assert.Equal(1, world.Webex.RefreshCalls);
        }
        finally
        {
            store.Dispose();
        }
    }

    [Fact]
    public async Task Redis_restarted_empty_is_401_login_required_not_500()
    {
        var directory = TempDirectory.Create("emptied");
        var store = new EmbeddedRedisServer(directory);
        var port = store.Port;
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(redis: store.ConnectionString, settings: new Dictionary<string, string?> { ["Redis:MemoryFallback"] = "00:00:00" });
        var browser = world.NewBrowser();
        try
        {
            await browser.SignInAsync(gateway.Address);
            var watch = gateway.Services.GetRequiredService<SubscriptionWatch>();
            var markedStale = watch.MarkedStale;
            store.Dispose();
            // Empty, but configured as before: same port, same password.
            var emptied = TempDirectory.Create("emptied");
            File.Copy(Path.Combine(directory, EmbeddedRedisServer.PasswordFileName), Path.Combine(emptied, EmbeddedRedisServer.PasswordFileName));
            store = new EmbeddedRedisServer(emptied, port);
            // Ready, and its cache marked stale once its subscription came back: what it cached may have changed meanwhile.
            await WaitUntilAsync(async () => (await browser.GetAsync(new Uri(gateway.Address, "/readyz"))).StatusCode == HttpStatusCode.OK
                && watch.MarkedStale > markedStale);

            var response = await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true);

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
            await browser.SignInAsync(gateway.Address);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        }
        finally
        {
            store.Dispose();
        }
    }

    /// <summary>
    /// The outage catalogue for a gateway that never had its key ring: Data Protection reads it from the store on first
    /// use and wraps the store's error in its own, which must still be a 503, never a 500, a 401 or a 400 page.
    /// </summary>
    public static TheoryData<string> StoreFailuresFromTheStart => ["unreachable", "wrong password"];

    [Theory]
    [MemberData(nameof(StoreFailuresFromTheStart))]
    public async Task A_store_failing_before_the_key_ring_is_loaded_is_a_503_and_the_gateway_recovers_without_a_restart(string failure)
    {
        const string WrongPassword = "notThePassword1";
        var directory = TempDirectory.Create("cold");
        var store = new EmbeddedRedisServer(directory);
        var port = store.Port;
        await using var world = await TestWorld.StartAsync(redis, output);
        try
        {
            // A session, a grant and a sign-in under way, all made while the store answered, by another instance.
            var issuer = world.AddGateway(redis: store.ConnectionString);
            var signedIn = world.NewBrowser();
            await signedIn.SignInAsync(issuer.Address);
            var signingIn = world.NewBrowser();
            var pendingCallback = await signingIn.ConsentAsync(issuer.Address);
            await issuer.DisposeAsync();
            var tokenCalls = world.Webex.TokenCalls;

            string connectionString;
            if (failure == "unreachable")
            {
                connectionString = store.ConnectionString;
                store.Dispose();
            }
            else
            {
                connectionString = $"127.0.0.1:{port},password={WrongPassword}";
            }

            var gateway = world.AddGateway(redis: connectionString);
            var anonymous = world.NewBrowser();

            // Pages for the browser-facing sign-in endpoints; JSON for the API.
            await AssertPageAsync(await TimedAsync(() => anonymous.GetAsync(new Uri(gateway.Address, "/auth/login"))), "/auth/login");
            await AssertPageAsync(await TimedAsync(() => signedIn.GetAsync(new Uri(gateway.Address, "/auth/login"))), "/auth/login with a cookie");
            await AssertPageAsync(await TimedAsync(() => signingIn.GetAsync(new Uri(gateway.Address, pendingCallback.PathAndQuery))), "/auth/callback");
            Assert.Equal(tokenCalls, world.Webex.TokenCalls);
            await AssertJsonAsync(await TimedAsync(() => signedIn.GetAsync(new Uri(gateway.Address, "/auth/user"))), "/auth/user with a cookie");
            await AssertJsonAsync(await TimedAsync(() => signedIn.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)), "/webex with a cookie");
            // A logout that cannot end the session says so, and leaves the cookie to try again with.
            var logout = await TimedAsync(() => signedIn.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout")));
            await AssertJsonAsync(logout, "/auth/logout");
            Assert.NotNull(signedIn.SessionCookie(gateway.Address));

            // Without a cookie there is no session to read: that is known without the store.
            Assert.Equal(HttpStatusCode.Unauthorized, (await TimedAsync(() => anonymous.GetAsync(new Uri(gateway.Address, "/auth/user")))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await TimedAsync(() => anonymous.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true))).StatusCode);

            var notReady = await TimedAsync(() => anonymous.GetAsync(new Uri(gateway.Address, "/readyz")));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            using (var json = JsonDocument.Parse(await notReady.Content.ReadAsStringAsync()))
            {
                Assert.Equal("Unhealthy", json.RootElement.GetProperty("checks").GetProperty("key-ring").GetProperty("status").GetString());
            }

            Assert.DoesNotContain(gateway.Logs, line => line.Contains(WrongPassword, StringComparison.Ordinal));

            // The store is put right (started again; or its password made the one the gateway has), the gateway is not
            // restarted: the key ring is read on the next use, no failure of Data Protection's stays cached.
            if (failure == "wrong password")
            {
                store.Dispose();
                await File.WriteAllTextAsync(Path.Combine(directory, EmbeddedRedisServer.PasswordFileName), WrongPassword);
            }

            store = new EmbeddedRedisServer(directory, port);
            var back = System.Diagnostics.Stopwatch.StartNew();
            await WaitUntilAsync(async () => (await anonymous.GetAsync(new Uri(gateway.Address, "/readyz"))).StatusCode == HttpStatusCode.OK);
            output.WriteLine($"ready {back.Elapsed.TotalSeconds:F1} s after the store was back");
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(10), $"ready only after {back.Elapsed.TotalSeconds:F1} s");

            Assert.Equal(HttpStatusCode.OK, (await signedIn.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await signedIn.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
            var newcomer = world.NewBrowser();
            await newcomer.SignInAsync(gateway.Address);
            Assert.Equal(HttpStatusCode.OK, (await newcomer.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await signedIn.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await signedIn.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
        }
        finally
        {
            store.Dispose();
        }

        static async Task AssertPageAsync(HttpResponseMessage response, string call)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{call}: answered {(int)response.StatusCode} {body}");
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            Assert.Contains("try again", body, StringComparison.OrdinalIgnoreCase);
        }

        static async Task AssertJsonAsync(HttpResponseMessage response, string call)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{call}: answered {(int)response.StatusCode} {body}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("temporarily_unavailable", json.RootElement.GetProperty("error").GetString());
        }
    }

    /// <summary>Every answer during an outage must come within two seconds: no hang.</summary>
    private static async Task<HttpResponseMessage> TimedAsync(Func<Task<HttpResponseMessage>> request)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var response = await request();
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2), $"answered after {started.Elapsed.TotalSeconds:F1} s");
        return response;
    }

    [Fact]
    public async Task With_no_connection_string_the_gateway_embeds_its_store_and_keeps_grants_across_a_restart()
    {
        var directory = TempDirectory.Create("embedded");
        var settings = new Dictionary<string, string?> { ["Redis:DataDirectory"] = directory };
        await using var world = await TestWorld.StartAsync(redis, output);
        var first = world.AddGateway(settings, redis: "");
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(first.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.True(Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Any());
        var cookie = browser.SessionCookie(first.Address)!;
        await first.DisposeAsync();

        var second = world.AddGateway(settings, redis: "");
        using var returning = world.NewBrowser();
        returning.Cookies.Add(second.Address, new Cookie(AuthExtensions.SessionCookieName, cookie));

        var response = await returning.GetAsync(new Uri(second.Address, "/webex/v1/people/me"), csrf: true);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, world.Webex.CodeExchanges);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task The_embedded_store_wants_a_password_kept_in_a_folder_only_the_gateway_user_can_open()
    {
        var directory = TempDirectory.Create("private");
        // A folder that already exists, open to everyone: the gateway tightens it.
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        var settings = new Dictionary<string, string?> { ["Redis:DataDirectory"] = directory };
        await using var world = await TestWorld.StartAsync(redis, output);
        var first = world.AddGateway(settings, redis: "");
        var browser = world.NewBrowser();
        await browser.SignInAsync(first.Address);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(first.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        var passwordFile = Path.Combine(directory, EmbeddedRedisServer.PasswordFileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passwordFile));
        var password = await File.ReadAllTextAsync(passwordFile);
        Assert.True(password.Length >= 32, "a password of at least 32 characters");

        // Another local user knows the port, not the password: every command is refused, the key ring above all.
        var port = first.Services.GetRequiredService<EmbeddedRedisServer>().Port;
        var refused = await Assert.ThrowsAsync<RedisReplyException>(() => RedisProcesses.CommandAsync(port, "LRANGE", $"{world.KeyPrefix}data-protection-keys", "0", "-1"));
        Assert.Contains("NOAUTH", refused.Message, StringComparison.OrdinalIgnoreCase);
        await Assert.ThrowsAsync<RedisReplyException>(() => RedisProcesses.CommandAsync(port, "AUTH", "not-the-password"));

        Assert.DoesNotContain(first.Logs, line => line.Contains(password, StringComparison.Ordinal));
        var cookie = browser.SessionCookie(first.Address)!;
        await first.DisposeAsync();

        // A restart reads the same password: the store's data and every session are still there.
        var second = world.AddGateway(settings, redis: "");
        Assert.Equal(password, await File.ReadAllTextAsync(passwordFile));
        using var returning = world.NewBrowser();
        returning.Cookies.Add(second.Address, new Cookie(AuthExtensions.SessionCookieName, cookie));
        Assert.Equal(HttpStatusCode.OK, (await returning.GetAsync(new Uri(second.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
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
