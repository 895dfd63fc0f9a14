using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebexGateway.Auth;
using WebexGateway.Grants;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Security;

/// <summary>
/// The hostile-input catalogue: every case gets a clear 4xx, never a 5xx, a hang or a token, and nothing reaches any
/// host but Webex's ApiUrl. Cases already covered elsewhere (plain returnUrl refusals, forged, foreign and replayed
/// state, X-CSRF on POST /webex and logout, literal and %2e dot segments) are not repeated here.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class HostileInputTests(RedisFixture redis, ITestOutputHelper output)
{
    private const string SessionCookie = AuthExtensions.SessionCookieName;

    // ───────────────────────── session cookies ─────────────────────────

    public static TheoryData<string> ForgedSessionCookies =>
    [
        "garbage", "empty", "tampered-first-char", "tampered-middle-char", "tampered-last-char", "truncated-half",
        "truncated-by-one", "extended", "base64-padding-appended", "url-encoded", "chunk-count-without-chunks",
        "chunks-of-garbage", "foreign-key-ring",
    ];

    [Theory]
    [MemberData(nameof(ForgedSessionCookies))]
    public async Task A_forged_tampered_truncated_or_foreign_session_cookie_is_401_and_never_reaches_webex(string forgery)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var valid = browser.SessionCookie(gateway.Address)!;
        await using var foreign = forgery == "foreign-key-ring" ? new GatewayHost(world.Emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(), output: output) : null;
        var cookie = forgery switch
        {
            "garbage" => $"{SessionCookie}=not-a-session",
            "empty" => $"{SessionCookie}=",
            "tampered-first-char" => $"{SessionCookie}={FlipBase64Url(valid, 0)}",
            "tampered-middle-char" => $"{SessionCookie}={FlipBase64Url(valid, valid.Length / 2)}",
            "tampered-last-char" => $"{SessionCookie}={FlipBase64Url(valid, valid.Length - 1)}",
            "truncated-half" => $"{SessionCookie}={valid[..(valid.Length / 2)]}",
            "truncated-by-one" => $"{SessionCookie}={valid[..^1]}",
            "extended" => $"{SessionCookie}={valid}AAAA",
            "base64-padding-appended" => $"{SessionCookie}={valid}==",
            "url-encoded" => $"{SessionCookie}={Uri.EscapeDataString(valid + "/+=")}",
            "chunk-count-without-chunks" => $"{SessionCookie}=chunks-2147483647",
            "chunks-of-garbage" => $"{SessionCookie}=chunks-2; {SessionCookie}C1={valid[..10]}; {SessionCookie}C2=garbage",
            "foreign-key-ring" => $"{SessionCookie}={await ForeignSessionAsync(world, foreign!)}",
            _ => throw new ArgumentOutOfRangeException(nameof(forgery)),
        };
        Assert.NotEqual($"{SessionCookie}={valid}", cookie);
        world.Webex.Reset();
        using var http = CookielessClient();

        var user = await SendAsync(http, HttpMethod.Get, new Uri(gateway.Address, "/auth/user"), cookie);
        var call = await SendAsync(http, HttpMethod.Get, new Uri(gateway.Address, "/webex/v1/people/me"), cookie, csrf: true);
        var post = await SendAsync(http, HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), cookie, csrf: true,
            content: Browser.Json("""{"roomId":"x","text":"hi"}"""));
        var logout = await SendAsync(http, HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"), cookie, csrf: true);

        foreach (var (name, response) in new[] { ("GET /auth/user", user), ("GET /webex", call), ("POST /webex", post) })
        {
            Assert.True(response.Status == HttpStatusCode.Unauthorized, $"{forgery}, {name}: answered {(int)response.Status} {response.Body}");
            using var json = JsonDocument.Parse(response.Body);
            Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
            AssertNoToken(world, response.Text, $"{forgery}, {name}");
        }

        // Logging out without a session is harmless; it must not end the real session the forgery was made from.
        Assert.True(logout.Status == HttpStatusCode.NoContent, $"{forgery}, logout: answered {(int)logout.Status} {logout.Body}");
        AssertNoToken(world, logout.Text, $"{forgery}, logout");
        Assert.Empty(world.Webex.Requests);
        Assert.Equal(0, world.Webex.TokenCalls);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
    }

    [Fact]
    public async Task A_valid_session_cookie_is_read_among_other_cookies_and_sent_twice_with_a_forgery_is_never_a_500()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var valid = browser.SessionCookie(gateway.Address)!;
        using var http = CookielessClient();
        var api = new Uri(gateway.Address, "/webex/v1/people/me");

        // The proxy reads a plain session cookie in place (SessionCookieHeader); these are what browsers send beside it.
        foreach (var cookie in new[]
        {
            $"theme=dark; {SessionCookie}={valid}; lang=en",
            $"theme=dark;{SessionCookie}={valid}",
            $"{SessionCookie}C1=stale-chunk; {SessionCookie}={valid}",
        })
        {
            var call = await SendAsync(http, HttpMethod.Get, api, cookie, csrf: true);
            Assert.True(call.Status == HttpStatusCode.OK, $"{cookie[..40]}…: answered {(int)call.Status} {call.Body}");
        }

        // Twice, or in another letter case: ASP.NET Core's parser decides. Whatever it picks, the answer is a clear one.
        foreach (var cookie in new[]
        {
            $"{SessionCookie}={valid}; {SessionCookie}=not-a-session",
            $"{SessionCookie}=not-a-session; {SessionCookie}={valid}",
            $"{SessionCookie}={valid}; {SessionCookie.ToUpperInvariant()}=not-a-session",
            $"{SessionCookie.ToUpperInvariant()}={valid}",
        })
        {
            var call = await SendAsync(http, HttpMethod.Get, api, cookie, csrf: true);
            Assert.True(call.Status is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"{cookie[..40]}…: answered {(int)call.Status} {call.Body}");
            AssertNoToken(world, call.Text, cookie[..40]);
        }
    }

    /// <summary>A session made by a gateway with its own key prefix, hence its own Data Protection key ring.</summary>
    private static async Task<string> ForeignSessionAsync(TestWorld world, GatewayHost foreign)
    {
        using var stranger = world.NewBrowser();
        await stranger.SignInAsync(foreign.Address);
        var cookie = stranger.SessionCookie(foreign.Address)!;
        // It is a good cookie where it was made, so the refusal below is the key ring's doing.
        Assert.Equal(HttpStatusCode.OK, (await stranger.GetAsync(new Uri(foreign.Address, "/auth/user"))).StatusCode);
        return cookie;
    }

    // ───────────────────────── records in Redis, and sessions a logout ended ─────────────────────────

    /// <remarks>
    /// Somebody who can write Redis (but not read the key ring) copies Ada's encrypted grant onto User 0001's key. A gateway
    /// that has cached nothing then reads it for User 0001's session: it must not decrypt as User 0001's grant.
    /// </remarks>
    [Fact]
    public async Task A_grant_copied_onto_another_persons_key_in_redis_is_401_for_that_person_and_never_carries_the_copied_token()
    {
        await using var world = await TestWorld.StartAsync(redis, output, o => o.AddGeneratedPeople(1));
        var gateway = world.AddGateway();
        var (ada, other) = (world.Person, world.Webex.People[1]);
        using var adasBrowser = world.NewBrowser();
        using var othersBrowser = world.NewBrowser();
        await adasBrowser.SignInAsync(gateway.Address);
        await othersBrowser.SignInAsync(gateway.Address, loginHint: other.Email);
        var adasToken = world.Webex.LastAccessTokenFor(ada.Id)!;
        var db = world.Redis.Redis.GetDatabase();

        await CopyRecordAsync(db, $"{world.KeyPrefix}grant:{ada.Id}", $"{world.KeyPrefix}grant:{other.Id}");
        world.Webex.Reset();
        var fresh = world.AddGateway(); // nothing cached: it reads the copy

        await AssertLoginRequiredAsync(world, othersBrowser, fresh, "the copied grant");
        Assert.DoesNotContain(world.Webex.Requests, r => r.Headers.GetValueOrDefault("Authorization") == $"Bearer {adasToken}");
        Assert.Equal(0, world.Webex.TokenCalls);
        Assert.Contains(fresh.Logs, l => l.Contains("stored grant could not be decrypted", StringComparison.Ordinal));
        AssertNoToken(world, string.Join("\n", fresh.Logs), "the gateway's log");
        // Ada's own grant is untouched.
        Assert.Equal(HttpStatusCode.OK, (await adasBrowser.GetAsync(new Uri(fresh.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.Equal($"Bearer {adasToken}", world.Webex.Requests[^1].Headers["Authorization"]);
    }

    /// <remarks>
    /// Somebody with a session of their own copies Ada's session record onto their session's key: their cookie would then
    /// stand for Ada's session.
    /// </remarks>
    [Fact]
    public async Task A_session_record_copied_onto_another_sessions_key_in_redis_is_401_and_never_carries_the_copied_persons_token()
    {
        await using var world = await TestWorld.StartAsync(redis, output, o => o.AddGeneratedPeople(1));
        var gateway = world.AddGateway();
        var (ada, other) = (world.Person, world.Webex.People[1]);
        using var adasBrowser = world.NewBrowser();
        using var othersBrowser = world.NewBrowser();
        await adasBrowser.SignInAsync(gateway.Address);
        var adasSession = Assert.Single(await SessionKeysAsync(world));
        await othersBrowser.SignInAsync(gateway.Address, loginHint: other.Email);
        var othersSession = Assert.Single((await SessionKeysAsync(world)).Except([adasSession]));
        var adasToken = world.Webex.LastAccessTokenFor(ada.Id)!;
        var db = world.Redis.Redis.GetDatabase();

        await CopyRecordAsync(db, adasSession, othersSession);
        world.Webex.Reset();
        var fresh = world.AddGateway();

        await AssertLoginRequiredAsync(world, othersBrowser, fresh, "the copied session");
        Assert.DoesNotContain(world.Webex.Requests, r => r.Headers.GetValueOrDefault("Authorization") == $"Bearer {adasToken}");
        Assert.Equal(0, world.Webex.TokenCalls);
        Assert.Contains(fresh.Logs, l => l.Contains("stored session could not be decrypted", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await adasBrowser.GetAsync(new Uri(fresh.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
    }

    /// <remarks>
    /// A grant stored before grants were bound to their person (the old purpose, no generation) is still read, and rewritten
    /// bound; the same record copied onto another person's key is refused: the person inside it is not the key's.
    /// </remarks>
    [Fact]
    public async Task A_grant_stored_before_binding_is_read_and_rewritten_bound_but_not_under_another_persons_key()
    {
        await using var world = await TestWorld.StartAsync(redis, output, o => o.AddGeneratedPeople(1));
        var gateway = world.AddGateway();
        var (ada, other) = (world.Person, world.Webex.People[1]);
        using var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        var store = gateway.Services.GetRequiredService<GrantStore>();
        var grant = (await store.ReadAsync(ada.Id))!;
        var json = JsonSerializer.SerializeToNode(grant)!.AsObject();
        Assert.True(json.Remove(nameof(Grant.Generation)));
        var unbound = gateway.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("WebexGateway.Grants.v1")
            .Protect(JsonSerializer.SerializeToUtf8Bytes(json));
        var db = world.Redis.Redis.GetDatabase();
        await db.StringSetAsync($"{world.KeyPrefix}grant:{ada.Id}", unbound, TimeSpan.FromDays(1));
        await db.StringSetAsync($"{world.KeyPrefix}grant:{other.Id}", unbound, TimeSpan.FromDays(1));

        var freshGateway = world.AddGateway();
        var fresh = freshGateway.Services.GetRequiredService<GrantStore>();
        var adas = await fresh.ReadAsync(ada.Id);
        var others = await fresh.ReadAsync(other.Id);

        Assert.NotNull(adas);
        Assert.Equal(grant.AccessToken, adas.AccessToken);
        Assert.Equal(grant.Scopes, adas.Scopes);
        Assert.Null(others);
        Assert.Contains(freshGateway.Logs, l => l.Contains("belongs to another person", StringComparison.Ordinal));
        var rewritten = (byte[])(await db.StringGetAsync($"{world.KeyPrefix}grant:{ada.Id}"))!;
        Assert.NotEqual(unbound, rewritten);
        Assert.Equal((byte[])(await db.StringGetAsync($"{world.KeyPrefix}grant:{other.Id}"))!, unbound); // a failed read deletes nothing
        var again = world.AddGateway();
        Assert.Equal(grant.AccessToken, (await again.Services.GetRequiredService<GrantStore>().ReadAsync(ada.Id))!.AccessToken);
        Assert.Contains(freshGateway.Logs, l => l.Contains("stored again, bound", StringComparison.Ordinal));
        Assert.DoesNotContain(again.Logs, l => l.Contains("stored again, bound", StringComparison.Ordinal)); // read bound this time
    }

    [Fact]
    public async Task A_logout_ends_every_session_of_the_person_and_none_comes_back_with_a_later_sign_in()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var first = world.NewBrowser();
        using var second = world.NewBrowser();
        using var third = world.NewBrowser();
        await first.SignInAsync(gateway.Address);
        await second.SignInAsync(gateway.Address);
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync(Api(gateway), csrf: true)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await second.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"))).StatusCode);

        await AssertLoginRequiredAsync(world, first, gateway, "after the other browser's logout");
        Assert.Empty(await SessionKeysAsync(world)); // not left to linger in Redis either
        await third.SignInAsync(gateway.Address);
        world.Webex.Reset();
        await AssertLoginRequiredAsync(world, first, gateway, "after a later sign-in");
        Assert.Empty(world.Webex.Requests);
        // The ended session's own logout ends only itself: the later sign-in is untouched.
        Assert.Equal(HttpStatusCode.NoContent, (await first.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await third.GetAsync(Api(gateway), csrf: true)).StatusCode);
    }

    [Fact]
    public async Task A_logout_on_one_instance_ends_a_session_another_instance_cached_and_a_later_sign_in_does_not_bring_it_back()
    {
        var longCache = new Dictionary<string, string?> { ["Redis:CacheLifetime"] = "00:10:00" };
        await using var world = await TestWorld.StartAsync(redis, output);
        var a = world.AddGateway(longCache);
        var b = world.AddGateway(longCache);
        using var first = world.NewBrowser();
        using var second = world.NewBrowser();
        using var third = world.NewBrowser();
        await first.SignInAsync(a.Address);
        await second.SignInAsync(a.Address);
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync(Api(b), csrf: true)).StatusCode); // B has the session and grant cached

        Assert.Equal(HttpStatusCode.NoContent, (await second.SendAsync(HttpMethod.Post, new Uri(a.Address, "/auth/logout"))).StatusCode);
        await WaitForLoginRequiredAsync(first, b, TimeSpan.FromSeconds(1));
        await third.SignInAsync(a.Address);
        Assert.Equal(HttpStatusCode.OK, (await third.GetAsync(Api(b), csrf: true)).StatusCode); // B has heard of the new grant

        world.Webex.Reset();
        await AssertLoginRequiredAsync(world, first, b, "on the other instance, after a later sign-in");
        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task A_grant_webex_refused_ends_every_session_of_the_person_and_none_comes_back_with_a_later_sign_in()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var first = world.NewBrowser();
        using var second = world.NewBrowser();
        using var third = world.NewBrowser();
        await first.SignInAsync(gateway.Address);
        await second.SignInAsync(gateway.Address);
        world.Webex.RevokeRefreshTokens();
        world.Webex.ExpireAccessTokens();

        Assert.Equal(HttpStatusCode.Unauthorized, (await second.GetAsync(Api(gateway), csrf: true)).StatusCode); // the refresh meets invalid_grant
        Assert.Equal(1, world.Webex.RefreshCalls);
        await AssertLoginRequiredAsync(world, second, gateway, "after invalid_grant");
        await AssertLoginRequiredAsync(world, first, gateway, "the other browser, after invalid_grant");
        await third.SignInAsync(gateway.Address);
        world.Webex.Reset();

        await AssertLoginRequiredAsync(world, first, gateway, "after a later sign-in");
        Assert.Empty(world.Webex.Requests);
        Assert.Equal(HttpStatusCode.OK, (await third.GetAsync(Api(gateway), csrf: true)).StatusCode);
    }

    /// <remarks>
    /// One browser's call needs a refresh, and Webex takes its time answering; meanwhile the other browser logs out. The
    /// refresh's answer must not write the grant back, or the person's sessions would have a grant again.
    /// </remarks>
    [Fact]
    public async Task A_refresh_answered_after_a_logout_does_not_bring_the_grant_back()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var first = world.NewBrowser();
        using var second = world.NewBrowser();
        await first.SignInAsync(gateway.Address);
        await second.SignInAsync(gateway.Address);
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenDelay = TimeSpan.FromSeconds(1);
        var grantKey = $"{world.KeyPrefix}grant:{world.Person.Id}";

        var call = first.GetAsync(Api(gateway), csrf: true);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (world.Webex.RefreshCalls == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the refresh did not reach Webex");
            await Task.Delay(10);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await second.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"))).StatusCode);
        Assert.False(await world.Redis.Redis.GetDatabase().KeyExistsAsync(grantKey));
        var answered = await call;

        Assert.Equal(HttpStatusCode.Unauthorized, answered.StatusCode);
        Assert.False(await world.Redis.Redis.GetDatabase().KeyExistsAsync(grantKey), "the refresh wrote the grant back after the logout");
        world.Webex.TokenDelay = TimeSpan.Zero;
        await AssertLoginRequiredAsync(world, first, gateway, "after the logout");
    }

    private static Uri Api(GatewayHost gateway) => new(gateway.Address, "/webex/v1/people/me");

    /// <summary>The value and remaining lifetime of one key, written under another.</summary>
    private static async Task CopyRecordAsync(StackExchange.Redis.IDatabase db, string from, string to)
    {
        var value = await db.StringGetAsync(from);
        Assert.False(value.IsNullOrEmpty, $"{from} is not in Redis");
        Assert.True(await db.StringSetAsync(to, value, await db.KeyTimeToLiveAsync(from) ?? TimeSpan.FromDays(1)));
    }

    private static async Task<List<string>> SessionKeysAsync(TestWorld world)
        => [.. (await world.Redis.DumpAsync(world.KeyPrefix)).Keys.Where(k => k.StartsWith($"{world.KeyPrefix}session:", StringComparison.Ordinal))];

    /// <summary>/auth/user, a GET and a POST on /webex: each 401 login_required, with no token in the answer.</summary>
    private static async Task AssertLoginRequiredAsync(TestWorld world, Browser browser, GatewayHost gateway, string context)
    {
        var answers = new[]
        {
            ("GET /auth/user", await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))),
            ("GET /webex", await browser.GetAsync(Api(gateway), csrf: true)),
            ("POST /webex", await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), Browser.Json("""{"roomId":"x","text":"hi"}"""))),
        };
        foreach (var (name, response) in answers)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{context}, {name}: answered {(int)response.StatusCode} {body}");
            using var json = JsonDocument.Parse(body);
            Assert.Equal("login_required", json.RootElement.GetProperty("error").GetString());
            AssertNoToken(world, body, $"{context}, {name}");
        }
    }

    private static async Task WaitForLoginRequiredAsync(Browser browser, GatewayHost gateway, TimeSpan within)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await browser.GetAsync(Api(gateway), csrf: true)).StatusCode != HttpStatusCode.Unauthorized)
        {
            Assert.True(clock.Elapsed < within, $"still served {within.TotalSeconds:0.#} s after the logout");
            await Task.Delay(50);
        }
    }

    // ───────────────────────── OAuth state, correlation and code ─────────────────────────

    public static TheoryData<string> ForgedCallbacks =>
    [
        "state-tampered", "state-truncated", "state-from-foreign-key-ring", "state-repeated", "state-empty",
        "correlation-cookie-missing", "correlation-cookie-tampered", "correlation-cookie-on-another-state",
    ];

    [Theory]
    [MemberData(nameof(ForgedCallbacks))]
    public async Task A_tampered_state_or_correlation_cookie_is_a_400_page_and_the_code_is_never_exchanged(string forgery)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        await using var foreign = forgery == "state-from-foreign-key-ring" ? new GatewayHost(world.Emulator, redis.ConnectionString, RedisFixture.NewKeyPrefix(), output: output) : null;
        using var browser = world.NewBrowser();
        var callbackUrl = await browser.ConsentAsync(gateway.Address);
        var query = QueryHelpers.ParseQuery(callbackUrl.Query);
        var (code, state) = (query["code"].ToString(), query["state"].ToString());
        var callbackPath = new Uri(gateway.Address, "/auth/callback");
        var correlation = browser.Cookies.GetCookies(callbackPath).Single(c => c.Name.StartsWith(".AspNetCore.Correlation.", StringComparison.Ordinal));
        var cookie = $"{correlation.Name}={correlation.Value}";
        var target = forgery switch
        {
            "state-tampered" => Callback(code, FlipBase64Url(state, state.Length / 2)),
            "state-truncated" => Callback(code, state[..^4]),
            "state-from-foreign-key-ring" => Callback(code, await ForeignStateAsync(world, foreign!)),
            "state-repeated" => Callback(code, state) + "&state=" + Uri.EscapeDataString(state),
            "state-empty" => Callback(code, ""),
            _ => Callback(code, state),
        };
        cookie = forgery switch
        {
            "correlation-cookie-missing" => "",
            "correlation-cookie-tampered" => $"{correlation.Name}=X",
            // The correlation cookie is named after a nonce inside the state: a cookie from a different login does not match it.
            "correlation-cookie-on-another-state" => $".AspNetCore.Correlation.{FlipBase64Url(correlation.Name[".AspNetCore.Correlation.".Length..], 3)}=N",
            _ => cookie,
        };
        using var http = CookielessClient();

        var response = await SendAsync(http, HttpMethod.Get, new Uri(gateway.Address, target), cookie.Length == 0 ? null : cookie);

        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{forgery}: answered {(int)response.Status} {response.Body}");
        Assert.Contains("text/html", response.ContentType);
        Assert.DoesNotContain(response.SetCookies, c => c.StartsWith(SessionCookie, StringComparison.Ordinal));
        Assert.Equal(0, world.Webex.TokenCalls);
        AssertNoToken(world, response.Text, forgery);

        // The genuine callback still works: the forgery did not burn the state.
        var genuine = await browser.GetAsync(callbackUrl);
        Assert.Equal(HttpStatusCode.Found, genuine.StatusCode);
    }

    public static TheoryData<string> PlantedCorrelationCookies => ["aspnetcore-default-name", "without-host-prefix", "host-prefix-on-another-nonce"];

    /// <summary>
    /// TLS ends at a proxy in front of the gateway (plain http to Kestrel, <c>X-Forwarded-Proto: https</c> from a known
    /// proxy). Somebody who can plant a cookie for the gateway's host (a sibling subdomain, plain http) must not be able to
    /// make a victim's browser finish the attacker's sign-in: the correlation cookie takes the <c>__Host-</c> prefix, which
    /// a browser accepts only from this exact host over https, for path /, without a domain.
    /// </summary>
    [Theory]
    [MemberData(nameof(PlantedCorrelationCookies))]
    public async Task Behind_a_tls_proxy_the_correlation_cookie_is_host_prefixed_and_a_planted_one_without_the_prefix_is_refused(string planted)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        const string redirectUri = "https://gateway.example.com/auth/callback";
        var gateway = world.AddGateway(new Dictionary<string, string?>
        {
            ["Webex:RedirectUri"] = redirectUri,
            ["Gateway:KnownProxies:0"] = "127.0.0.1",
        });
        string[] proxied = ["X-Forwarded-Proto: https", "X-Forwarded-For: 203.0.113.20"];

        var login = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/auth/login?returnUrl=%2Fapp", null, false, proxied));

        Assert.True(login.Status == 302, login.ToString());
        var setCookie = login.Header("Set-Cookie").Single();
        const string prefix = "__Host-webex-gateway.correlation.";
        Assert.StartsWith(prefix, setCookie);
        var attributes = setCookie.Split(';', StringSplitOptions.TrimEntries).Skip(1).Select(a => a.ToLowerInvariant()).ToList();
        Assert.Contains("secure", attributes);
        Assert.Contains("path=/", attributes);
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=lax", attributes);
        Assert.DoesNotContain(attributes, a => a.StartsWith("domain", StringComparison.Ordinal));
        var genuine = setCookie.Split(';')[0];
        var (name, value) = (genuine.Split('=', 2)[0], genuine.Split('=', 2)[1]);
        var nonce = name[prefix.Length..];

        using var browser = world.NewBrowser();
        var consent = await browser.GetAsync(new Uri(login.Header("Location").Single()));
        Assert.StartsWith(redirectUri + "?", consent.Headers.Location!.ToString());
        var callback = consent.Headers.Location!.PathAndQuery;
        var cookie = planted switch
        {
            "aspnetcore-default-name" => $".AspNetCore.Correlation.{nonce}={value}",
            "without-host-prefix" => $"webex-gateway.correlation.{nonce}={value}",
            "host-prefix-on-another-nonce" => $"{prefix}{FlipBase64Url(nonce, 3)}={value}",
            _ => throw new ArgumentOutOfRangeException(nameof(planted)),
        };

        var refused = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, callback, cookie, false, proxied));

        Assert.True(refused.Status == 400, $"{planted}: {refused}\n{refused.Body}");
        Assert.Contains("text/html", refused.Header("Content-Type").Single());
        Assert.DoesNotContain(refused.Header("Set-Cookie"), c => c.Contains("webex-gateway.session", StringComparison.Ordinal));
        Assert.Equal(0, world.Webex.TokenCalls);
        AssertNoToken(world, refused.Text, planted);

        // The browser at https://gateway.example.com sends the cookie it was given, and the sign-in completes.
        var completed = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, callback, genuine, false, proxied));
        Assert.True(completed.Status == 302, $"{planted}, genuine: {completed}\n{completed.Body}");
        Assert.Equal("/app", completed.Header("Location").Single());
        Assert.Contains(completed.Header("Set-Cookie"), c => c.StartsWith($"{AuthExtensions.SecureSessionCookieName}=", StringComparison.Ordinal));
        Assert.Equal(1, world.Webex.CodeExchanges);
    }

    [Fact]
    public async Task Over_plain_http_in_development_the_correlation_cookie_keeps_working_without_secure()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login"));

        var setCookie = login.Headers.GetValues("Set-Cookie").Single();
        Assert.DoesNotContain("__Host-", setCookie);
        Assert.DoesNotContain("secure", setCookie.Replace("samesite", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
        var consent = await browser.GetAsync(login.Headers.Location!);
        Assert.Equal(HttpStatusCode.Found, (await browser.GetAsync(consent.Headers.Location!)).StatusCode);
        Assert.NotNull(browser.SessionCookie(gateway.Address));
    }

    private static string Callback(string code, string state) => $"/auth/callback?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(state)}";

    private static async Task<string> ForeignStateAsync(TestWorld world, GatewayHost foreign)
    {
        using var stranger = world.NewBrowser();
        var login = await stranger.GetAsync(new Uri(foreign.Address, "/auth/login"));
        return QueryHelpers.ParseQuery(login.Headers.Location!.Query)["state"].ToString();
    }

    [Fact]
    public async Task A_state_older_than_ten_minutes_is_refused_while_a_younger_one_is_accepted()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = world.AddGateway(time: time);
        using var late = world.NewBrowser();
        using var prompt = world.NewBrowser();

        var lateCallback = await late.ConsentAsync(gateway.Address);
        time.Advance(TimeSpan.FromMinutes(1));
        var promptCallback = await prompt.ConsentAsync(gateway.Address);
        time.Advance(TimeSpan.FromMinutes(9) + TimeSpan.FromSeconds(30)); // late: 10.5 min old; prompt: 9.5 min old

        // The browser's cookie jar runs on real time, so it still presents the correlation cookie: only the gateway can refuse.
        var expired = await late.GetAsync(lateCallback);
        var fresh = await prompt.GetAsync(promptCallback);

        var body = await expired.Content.ReadAsStringAsync();
        Assert.True(expired.StatusCode == HttpStatusCode.BadRequest, $"a 10.5 minute old state answered {(int)expired.StatusCode}: {body}");
        Assert.Contains("expired", body);
        Assert.Null(late.SessionCookie(gateway.Address));
        AssertNoToken(world, body, "expired state");
        Assert.Equal(HttpStatusCode.Found, fresh.StatusCode);
        Assert.Equal(1, world.Webex.CodeExchanges); // only the fresh one
        // The state's expiry is the sign-in's, not the session's: the session lives on past ten minutes.
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(HttpStatusCode.OK, (await prompt.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
    }

    [Fact]
    public async Task A_code_used_once_is_refused_with_a_fresh_state_and_gives_no_session()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var victim = world.NewBrowser();
        var used = await victim.ConsentAsync(gateway.Address);
        Assert.Equal(HttpStatusCode.Found, (await victim.GetAsync(used)).StatusCode);
        var usedCode = QueryHelpers.ParseQuery(used.Query)["code"].ToString();

        // Somebody who saw the first callback URL starts a login of their own and brings the used code to it.
        using var attacker = world.NewBrowser();
        var own = await attacker.ConsentAsync(gateway.Address);
        var state = QueryHelpers.ParseQuery(own.Query)["state"].ToString();
        var replay = await attacker.GetAsync(new Uri(gateway.Address, Callback(usedCode, state)));

        var body = await replay.Content.ReadAsStringAsync();
        Assert.True(replay.StatusCode == HttpStatusCode.BadRequest, $"a used code answered {(int)replay.StatusCode}: {body}");
        Assert.Contains("already used or has expired", body);
        Assert.Null(attacker.SessionCookie(gateway.Address));
        Assert.Equal(2, world.Webex.CodeExchanges);
        AssertNoToken(world, body, "code reused");
    }

    public static TheoryData<string, string> WebexErrorRedirects()
    {
        var data = new TheoryData<string, string>();
        foreach (var error in new[] { "access_denied", "server_error", "invalid_scope", "temporarily_unavailable", "invalid_request", "unauthorized_client", "<script>alert(1)</script>" })
        {
            foreach (var state in new[] { "valid-state", "no-state", "forged-state", "valid-state-and-a-code" })
            {
                data.Add(error, state);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WebexErrorRedirects))]
    public async Task A_webex_error_redirect_is_a_4xx_page_and_never_exchanges_a_code(string error, string state)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();
        var login = await browser.GetAsync(new Uri(gateway.Address, "/auth/login"));
        var validState = QueryHelpers.ParseQuery(login.Headers.Location!.Query)["state"].ToString();
        var query = $"error={Uri.EscapeDataString(error)}&error_description={Uri.EscapeDataString("<img src=x onerror=alert(1)>")}" + state switch
        {
            "valid-state" => $"&state={Uri.EscapeDataString(validState)}",
            "valid-state-and-a-code" => $"&state={Uri.EscapeDataString(validState)}&code=some-code",
            "forged-state" => "&state=forged",
            _ => "",
        };

        var callback = await browser.GetAsync(new Uri(gateway.Address, $"/auth/callback?{query}"));

        var body = await callback.Content.ReadAsStringAsync();
        var expected = state.StartsWith("valid", StringComparison.Ordinal) && error == "access_denied" ? HttpStatusCode.Forbidden : HttpStatusCode.BadRequest;
        Assert.True(callback.StatusCode == expected, $"{error} with {state} answered {(int)callback.StatusCode}: {body}");
        Assert.Contains("text/html", callback.Content.Headers.ContentType!.ToString());
        if (state.StartsWith("valid", StringComparison.Ordinal) && error != "access_denied")
        {
            Assert.Contains(System.Net.WebUtility.HtmlEncode(error), body);
        }

        Assert.DoesNotContain("<script>", body);
        Assert.DoesNotContain("<img", body);
        Assert.Null(browser.SessionCookie(gateway.Address));
        Assert.Equal(0, world.Webex.TokenCalls);
        AssertNoToken(world, body, $"{error} {state}");
    }

    // ───────────────────────── sign-in floods ─────────────────────────

    /// <summary>
    /// Anonymous callers pairing <c>/auth/login</c> with a garbage code at <c>/auth/callback</c> would make the gateway
    /// spend its client secret at Webex's token endpoint once per pair. Per client address, sign-in starts and failed
    /// callbacks are limited (defaults: 10 starts and 5 failed callbacks a minute); what is over the limit is a 429 page
    /// with Retry-After, and only the allowed failures ever reach the token endpoint.
    /// </summary>
    [Fact]
    public async Task Thirty_sign_in_starts_with_garbage_codes_reach_the_token_endpoint_at_most_the_limit_and_the_rest_are_429()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Gateway:KnownProxies:0"] = "127.0.0.1" });
        var starts = new List<RawResponse>();
        var callbacks = new List<RawResponse>();

        for (var i = 0; i < 30; i++)
        {
            var login = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/auth/login", null, false));
            starts.Add(login);
            if (login.Status != 302)
            {
                continue;
            }

            var state = QueryHelpers.ParseQuery(new Uri(login.Header("Location").Single()).Query)["state"].ToString();
            var cookie = string.Join("; ", login.Header("Set-Cookie").Select(c => c.Split(';')[0]));
            callbacks.Add(await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, Callback($"garbage-{i}", state), cookie, false)));
        }

        Assert.Equal(10, starts.Count(r => r.Status == 302));
        Assert.Equal(20, starts.Count(r => r.Status == 429));
        Assert.Equal(5, callbacks.Count(r => r.Status == 400));
        Assert.Equal(5, callbacks.Count(r => r.Status == 429));
        Assert.True(world.Webex.TokenCalls <= 5, $"{world.Webex.TokenCalls} token-endpoint calls for 30 anonymous sign-in attempts");
        foreach (var refused in starts.Concat(callbacks).Where(r => r.Status == 429))
        {
            var retryAfter = int.Parse(refused.Header("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 1, 60);
            Assert.Contains("text/html", refused.Header("Content-Type").Single());
            Assert.Contains("Too many sign-in attempts", refused.Body);
            Assert.Empty(refused.Header("Set-Cookie"));
        }

        // Another client behind the same (known) proxy is not affected, and signs in.
        string[] other = ["X-Forwarded-For: 203.0.113.77"];
        var otherLogin = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/auth/login", null, false, other));
        Assert.True(otherLogin.Status == 302, otherLogin.ToString());
        using var browser = world.NewBrowser();
        var consent = await browser.GetAsync(new Uri(otherLogin.Header("Location").Single()));
        var otherCallback = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, consent.Headers.Location!.PathAndQuery,
            string.Join("; ", otherLogin.Header("Set-Cookie").Select(c => c.Split(';')[0])), false, other));
        Assert.True(otherCallback.Status == 302, $"{otherCallback}\n{otherCallback.Body}");
        AssertNoToken(world, string.Concat(starts.Concat(callbacks).Select(r => r.Text)), "sign-in flood");
    }

    // ───────────────────────── open redirects ─────────────────────────

    /// <summary>returnUrl as it is written in the query string (so percent-encoding is the attacker's); null: refused or local, either will do.</summary>
    public static TheoryData<string, bool?> ReturnUrlsOnTheWire => new()
    {
        { "%2F%2Fevil.example", true },
        { "%2F%5Cevil.example", true },
        { "%5C%5Cevil.example", true },
        { "/%5C/evil.example", true },
        { "%5C/evil.example", true },
        { "/%09/evil.example", true },
        { "/%0D%0ALocation:%20https://evil.example", true },
        { "%20//evil.example", true },
        { "%E2%80%AE//evil.example", true },
        { "https:evil.example", true },
        { "HTTPS://evil.example", true },
        { "https%3A%2F%2Fevil.example", true },
        { "JaVaScRiPt:alert(1)", true },
        { "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E", true },
        { "%252F%252Fevil.example", true },
        { "/%252F%252Fevil.example", false },
        { "/%2F%2Fevil.example", true },
        { "%2Fevil.example", false },
        { "/.//evil.example", false },
        { "/&returnUrl=//evil.example", null },
        { "//evil.example&returnUrl=/", null },
        // Not ASCII: a Location header cannot carry it as it is.
        { "/%C3%A9", false },
        { "/caf%C3%A9/%E2%82%AC?q=%C3%BC#%C3%A9", false },
        { "/%E2%80%A8x", null },
        { "/%EF%BC%8Fevil.example", null },
        { "/%EF%BC%8F%EF%BC%8Fevil.example", null },
        { "%EF%BC%8F%EF%BC%8Fevil.example", true },
        { "/%E3%80%80/evil.example", null },
        { "/%ED%A0%80", null },
        { "/%F0%9F%98%80", false },
        { "/a%20b%22%3C%3E%5E%60%7B%7C%7D", false },
    };

    [Theory]
    [MemberData(nameof(ReturnUrlsOnTheWire))]
    public async Task A_return_url_either_is_refused_or_brings_the_browser_back_to_a_local_path(string wireReturnUrl, bool? refused)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        using var browser = world.NewBrowser();

        var login = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, $"/auth/login?returnUrl={wireReturnUrl}", null, false));

        AssertNoToken(world, login.Text, wireReturnUrl);
        if (login.Status == 400)
        {
            Assert.True(refused != false, $"{wireReturnUrl} is a local path but was refused");
            Assert.Contains("returnUrl", login.Body);
            return;
        }

        Assert.True(login.Status == 302, $"{wireReturnUrl}: {login}");
        Assert.True(refused != true, $"{wireReturnUrl} must be refused but the login started");
        // Finish the sign-in: the only place the gateway redirects to the returnUrl is the callback.
        var consent = await browser.GetAsync(new Uri(login.Header("Location").Single()));
        var cookie = string.Join("; ", login.Header("Set-Cookie").Select(c => c.Split(';')[0]));
        var callback = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, consent.Headers.Location!.PathAndQuery, cookie, false));
        Assert.True(callback.Status == 302, $"{wireReturnUrl}: callback {callback}\n{callback.Body}");
        var location = callback.Header("Location").Single();
        AssertLocal(location, wireReturnUrl);
        Assert.True(location.All(char.IsAscii), $"{wireReturnUrl}: '{location}' is not ASCII");
        Assert.Equal(1, world.Webex.CodeExchanges);
    }

    [Fact]
    public async Task The_login_url_in_a_401_only_ever_returns_to_a_local_path_whatever_the_referer()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();
        var us = gateway.Address.Authority;
        var referers = new[]
        {
            $"http://{us}//evil.example/x", $"http://{us}/\\evil.example", $"http://{us}/%2F%2Fevil.example", $"http://{us}@evil.example/app",
            $"http://evil.example/app", "javascript:alert(1)", $"http://{us}/app/%0d%0aSet-Cookie:x", "//evil.example/app", "/app", $"http://{us}/\t/evil.example",
        };

        foreach (var referer in referers)
        {
            foreach (var path in new[] { "/auth/user", "/webex/v1/rooms" })
            {
                var response = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, path, null, true, $"Referer: {referer}"));
                Assert.True(response.Status == 401, $"{path} with Referer {referer}: {response}");
                using var json = JsonDocument.Parse(response.Body);
                var loginUrl = json.RootElement.GetProperty("loginUrl").GetString()!;
                Assert.StartsWith("/auth/login?returnUrl=", loginUrl);
                AssertLocal(Uri.UnescapeDataString(loginUrl["/auth/login?returnUrl=".Length..]), $"Referer {referer}");
            }
        }
    }

    // ───────────────────────── CSRF ─────────────────────────

    public static TheoryData<string, string> StateChangingEndpoints => new()
    {
        { "POST", "/webex/v1/messages" },
        { "PUT", "/webex/v1/rooms/some-room" },
        { "PATCH", "/webex/v1/rooms/some-room" },
        { "DELETE", "/webex/v1/messages/some-message" },
        { "GET", "/webex/v1/people/me" },
        { "POST", "/auth/logout" },
    };

    [Theory]
    [MemberData(nameof(StateChangingEndpoints))]
    public async Task Every_wrong_or_missing_csrf_header_is_a_403_and_changes_nothing(string method, string path)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var cookie = $"{SessionCookie}={browser.SessionCookie(gateway.Address)}";
        world.Webex.Reset();
        var variants = new Dictionary<string, string[]>
        {
            ["missing"] = [],
            ["zero"] = ["X-CSRF: 0"],
            ["true"] = ["X-CSRF: true"],
            ["empty"] = ["X-CSRF:"],
            ["leading zero"] = ["X-CSRF: 01"],
            ["trailing junk"] = ["X-CSRF: 1x"],
            ["list"] = ["X-CSRF: 1, 1"],
            ["repeated"] = ["X-CSRF: 1", "X-CSRF: 1"],
            ["other name"] = ["X-CSRF-Token: 1"],
            ["underscore"] = ["X_CSRF: 1"],
        };

        foreach (var (name, headers) in variants)
        {
            var body = method is "POST" or "PUT" or "PATCH" ? """{"roomId":"r","text":"hi"}""" : null;
            var response = await RawHttp.SendAsync(gateway.Address, RawHttp.Request(method, gateway.Address, path, cookie, csrf: false, body, headers));

            Assert.True(response.Status == 403, $"{method} {path} with X-CSRF {name}: {response}\n{response.Body}");
            using var json = JsonDocument.Parse(response.Body);
            Assert.Equal("csrf_header_required", json.RootElement.GetProperty("error").GetString());
            AssertNoToken(world, response.Text, name);
        }

        Assert.Empty(world.Webex.Requests);
        Assert.Equal(0, world.Webex.TokenCalls);
        // The refused logouts ended nothing.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
    }

    /// <summary>
    /// Only a GET or HEAD of a file, marked by the browser as coming from the gateway's own pages (exactly one
    /// <c>Sec-Fetch-Site: same-origin</c> or <c>none</c>), may omit X-CSRF; every other shape of it still needs the header.
    /// </summary>
    public static TheoryData<string, string, string[]> DownloadsNotFromTheGatewaysPages => new()
    {
        { "GET", "/webex/v1/contents/some-file", ["Sec-Fetch-Site: cross-site"] },
        { "GET", "/webex/v1/contents/some-file", ["Sec-Fetch-Site: same-site"] },
        { "GET", "/webex/v1/contents/some-file", [] },
        { "GET", "/webex/v1/contents/some-file", ["Sec-Fetch-Site:"] },
        { "GET", "/webex/v1/contents/some-file", ["Sec-Fetch-Site: SAME-ORIGIN"] },
        { "GET", "/webex/v1/contents/some-file", ["Sec-Fetch-Site: same-origin, cross-site"] },
        { "GET", "/webex/v1/contents/some-file", ["Sec-Fetch-Site: same-origin", "Sec-Fetch-Site: cross-site"] },
        { "GET", "/webex/v1/contents/some-file", ["Sec-Fetch-Mode: same-origin"] },
        { "POST", "/webex/v1/contents/some-file", ["Sec-Fetch-Site: same-origin"] },
        { "DELETE", "/webex/v1/contents/some-file", ["Sec-Fetch-Site: none"] },
        { "GET", "/webex/v1/contents", ["Sec-Fetch-Site: same-origin"] },
        { "GET", "/webex/v1/contents/", ["Sec-Fetch-Site: same-origin"] },
        { "GET", "/webex/v1/Contents/some-file", ["Sec-Fetch-Site: same-origin"] },
        { "GET", "/webex/v1/people/me", ["Sec-Fetch-Site: same-origin"] },
        { "GET", "/webex/v1/messages?roomId=/v1/contents/x", ["Sec-Fetch-Site: none"] },
    };

    [Theory]
    [MemberData(nameof(DownloadsNotFromTheGatewaysPages))]
    public async Task A_download_without_csrf_not_marked_as_from_the_gateways_pages_is_403_and_never_reaches_webex(string method, string path, string[] headers)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var cookie = $"{SessionCookie}={browser.SessionCookie(gateway.Address)}";
        world.Webex.Reset();

        var response = await RawHttp.SendAsync(gateway.Address, RawHttp.Request(method, gateway.Address, path, cookie, csrf: false, body: null, headers));

        Assert.True(response.Status == 403, $"{method} {path} with [{string.Join("; ", headers)}]: {response}\n{response.Body}");
        using var json = JsonDocument.Parse(response.Body);
        Assert.Equal("csrf_header_required", json.RootElement.GetProperty("error").GetString());
        AssertNoToken(world, response.Text, path);
        Assert.Empty(world.Webex.Requests);
        Assert.Equal(0, world.Webex.TokenCalls);
    }

    // ───────────────────────── Host and X-Forwarded-* spoofing ─────────────────────────

    private static readonly string[] Spoofing =
    [
        "X-Forwarded-Host: evil.example",
        "X-Forwarded-Proto: https",
        "X-Forwarded-For: 203.0.113.9",
        "X-Forwarded-Prefix: /evil",
        "X-Original-Host: evil.example",
        "Forwarded: for=203.0.113.9;host=evil.example;proto=https",
    ];

    [Fact]
    public async Task With_a_configured_redirect_uri_no_host_header_changes_the_authorize_redirect_or_the_callbacks_redirect()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        await using var evil = new EvilListener();
        const string redirectUri = "https://gateway.example.com/auth/callback";
        var gateway = world.AddGateway(new Dictionary<string, string?> { ["Webex:RedirectUri"] = redirectUri });
        var authorize = new Uri(world.Emulator.BaseUrl, "/v1/authorize").ToString();

        foreach (var host in new[] { evil.Authority, "evil.example", "gateway.example.com.evil.example", "evil.example:443", "" })
        {
            var login = await RawHttp.SendAsync(gateway.Address,
                RawHttp.Get(gateway.Address, "/auth/login?returnUrl=%2Fapp", null, false, [$"Host: {host}", .. Spoofing]));

            Assert.True(login.Status == 302, $"Host '{host}': {login}");
            var location = login.Header("Location").Single();
            Assert.StartsWith(authorize + "?", location);
            Assert.Equal(redirectUri, QueryHelpers.ParseQuery(new Uri(location).Query)["redirect_uri"]);
            Assert.All(login.Header("Set-Cookie"), c => Assert.DoesNotContain("domain", c, StringComparison.OrdinalIgnoreCase));

            // Webex sends the browser to the configured URI; it reaches this gateway with a spoofed Host all the same.
            using var browser = world.NewBrowser();
            var consent = await browser.GetAsync(new Uri(location));
            Assert.StartsWith(redirectUri + "?", consent.Headers.Location!.ToString());
            var cookie = string.Join("; ", login.Header("Set-Cookie").Select(c => c.Split(';')[0]));
            var callback = await RawHttp.SendAsync(gateway.Address,
                RawHttp.Get(gateway.Address, consent.Headers.Location!.PathAndQuery, cookie, false, [$"Host: {host}", .. Spoofing]));
            Assert.True(callback.Status == 302, $"Host '{host}', callback: {callback}\n{callback.Body}");
            Assert.Equal("/app", callback.Header("Location").Single());
            AssertNoToken(world, login.Text + callback.Text, $"Host '{host}'");
        }

        evil.AssertUntouched("sign-in with a spoofed Host");
    }

    [Fact]
    public async Task Without_a_configured_redirect_uri_forwarding_headers_never_change_the_redirect_uri()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway();

        var login = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/auth/login", null, false, Spoofing));

        Assert.True(login.Status == 302, login.ToString());
        var redirect = QueryHelpers.ParseQuery(new Uri(login.Header("Location").Single()).Query)["redirect_uri"].ToString();
        Assert.Equal(new Uri(gateway.Address, "/auth/callback").ToString(), redirect);
    }

    [Fact]
    public async Task Spoofed_hosts_never_reach_webex_and_never_appear_in_link_headers_or_login_urls()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        await using var evil = new EvilListener();
        var (gateway, browser) = await world.SignedInAsync();
        var cookie = $"{SessionCookie}={browser.SessionCookie(gateway.Address)}";
        world.Webex.Reset();

        foreach (var host in new[] { evil.Authority, "evil.example" })
        {
            string[] headers = [$"Host: {host}", $"Referer: http://{host}/app/page", .. Spoofing];
            var page = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/webex/v1/rooms?max=2", cookie, true, headers));
            var anonymous = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, "/webex/v1/rooms?max=2", null, true, headers));

            Assert.True(page.Status == 200, $"Host {host}: {page}");
            var link = page.Header("Link").Single();
            Assert.StartsWith("</webex/v1/rooms?", link);
            Assert.DoesNotContain(host, link);
            Assert.DoesNotContain("evil", link);
            Assert.DoesNotContain(world.Emulator.BaseUrl.Authority, link);
            Assert.True(anonymous.Status == 401, $"Host {host}, no session: {anonymous}");
            var loginUrl = JsonDocument.Parse(anonymous.Body).RootElement.GetProperty("loginUrl").GetString()!;
            Assert.StartsWith("/auth/login?returnUrl=%2F", loginUrl);
            Assert.DoesNotContain("evil", loginUrl);
            Assert.DoesNotContain("//", Uri.UnescapeDataString(loginUrl));
            AssertNoToken(world, page.Text + anonymous.Text, $"Host {host}");
        }

        AssertOnlyWebexReached(world, evil, "spoofed Host on /webex");
        Assert.NotEmpty(world.Webex.Requests);
    }

    // ───────────────────────── /webex path escapes ─────────────────────────

    public enum PathOutcome
    {
        /// <summary>Forwarded to ApiUrl with exactly the expected target.</summary>
        Forwarded,

        /// <summary>The gateway's 400 bad_request; nothing forwarded.</summary>
        Refused,

        /// <summary>Not the proxy's: a 4xx from Kestrel or routing; nothing forwarded.</summary>
        NotProxied,

        /// <summary>Kestrel may refuse it (400); if it does not, it is forwarded exactly.</summary>
        ForwardedOrRejected,
    }

    /// <summary>{evil} is the evil listener's authority, {us} the gateway's; a target not starting with '/' is sent in absolute form.</summary>
    public static TheoryData<string, string, PathOutcome, string> WebexPaths => new()
    {
        { "double-slash-authority", "/webex//{evil}/v1/people/me", PathOutcome.Forwarded, "//{evil}/v1/people/me" },
        { "absolute-url-in-path", "/webex/http://{evil}/v1/people/me", PathOutcome.Forwarded, "/http://{evil}/v1/people/me" },
        { "https-url-with-encoded-slashes", "/webex/https:%2F%2F{evil}/v1", PathOutcome.Forwarded, "/https:%2F%2F{evil}/v1" },
        { "encoded-double-slash-authority", "/webex/%2F%2F{evil}/v1", PathOutcome.Forwarded, "/%2F%2F{evil}/v1" },
        { "userinfo-style", "/webex/@{evil}/v1/people/me", PathOutcome.Forwarded, "/@{evil}/v1/people/me" },
        { "backslash-authority", "/webex/\\\\{evil}/v1", PathOutcome.ForwardedOrRejected, "/\\\\{evil}/v1" },
        { "encoded-backslash-authority", "/webex/%5C%5C{evil}/v1", PathOutcome.Forwarded, "/%5C%5C{evil}/v1" },
        { "encoded-slash-in-id", "/webex/v1/rooms/abc%2Fdef%2Bghi%3D%3D", PathOutcome.Forwarded, "/v1/rooms/abc%2Fdef%2Bghi%3D%3D" },
        { "double-encoded-slash", "/webex/v1/rooms/abc%252Fdef", PathOutcome.Forwarded, "/v1/rooms/abc%252Fdef" },
        { "double-encoded-dots", "/webex/v1/%252e%252e/%252E%252E/x", PathOutcome.Forwarded, "/v1/%252e%252e/%252E%252E/x" },
        { "lowercase-and-utf8-escapes", "/webex/v1/people/caf%c3%a9%41", PathOutcome.Forwarded, "/v1/people/caf%c3%a9%41" },
        { "invalid-percent-escapes", "/webex/v1/people/%zz%?q=%&r=%G1", PathOutcome.ForwardedOrRejected, "/v1/people/%zz%?q=%&r=%G1" },
        { "urls-in-the-query", "/webex/v1/people/me?next=http://{evil}/&u=%2F%2F{evil}&v=//{evil}", PathOutcome.Forwarded, "/v1/people/me?next=http://{evil}/&u=%2F%2F{evil}&v=//{evil}" },
        { "semicolon-parameter", "/webex/v1/people/me;{evil}", PathOutcome.Forwarded, "/v1/people/me;{evil}" },
        { "uppercase-prefix", "/WEBEX/v1/people/me", PathOutcome.Forwarded, "/v1/people/me" },
        { "bare-prefix-with-query", "/webex?max=1", PathOutcome.Forwarded, "/?max=1" },
        { "encoded-dot-segments-behind-encoded-slashes", "/webex/v1%2F%2e%2e%2F%2e%2e%2F{evil}", PathOutcome.Refused, "" },
        { "dot-segments-behind-backslashes", "/webex/v1\\..\\..\\{evil}", PathOutcome.Refused, "" },
        { "mixed-dot-segment", "/webex/v1/.%2E/.%2e/{evil}", PathOutcome.NotProxied, "" },
        { "encoded-prefix-slash", "/webex%2F{evil}/v1", PathOutcome.NotProxied, "" },
        { "prefix-with-port", "/webex:{port}/v1/people/me", PathOutcome.NotProxied, "" },
        { "null-byte", "/webex/v1/people/me%00{evil}", PathOutcome.NotProxied, "" },
        { "absolute-form-with-evil-authority", "http://{evil}/webex/v1/people/me", PathOutcome.Forwarded, "/v1/people/me" },
        { "absolute-form-with-encoded-slash", "http://{us}/webex/v1/rooms/abc%2Fdef", PathOutcome.Forwarded, "/v1/rooms/abc%2Fdef" },
        { "absolute-form-with-double-slash", "http://{us}/webex//{evil}/v1", PathOutcome.Forwarded, "//{evil}/v1" },
    };

    [Theory]
    [MemberData(nameof(WebexPaths))]
    public async Task A_path_under_webex_only_ever_reaches_api_url_with_its_encoding_intact(string name, string target, PathOutcome outcome, string upstream)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        await using var evil = new EvilListener();
        var (gateway, browser) = await world.SignedInAsync();
        var cookie = $"{SessionCookie}={browser.SessionCookie(gateway.Address)}";
        world.Webex.Reset();
        string Fill(string s) => s.Replace("{evil}", evil.Authority, StringComparison.Ordinal)
            .Replace("{port}", evil.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{us}", gateway.Address.Authority, StringComparison.Ordinal);
        target = Fill(target);
        upstream = Fill(upstream);
        var host = target.StartsWith('/') ? gateway.Address.Authority : new Uri(target).Authority;

        var response = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, target, cookie, true, $"Host: {host}"));

        Assert.False(response.NoResponse, $"{name}: no response");
        Assert.True(response.Status is >= 200 and < 500, $"{name}: {response}\n{response.Body}");
        AssertNoToken(world, response.Text, name);
        AssertOnlyWebexReached(world, evil, name);
        var received = world.Webex.Requests.Select(r => r.RawTarget).ToList();
        switch (outcome)
        {
            case PathOutcome.Forwarded:
                Assert.True(received.SequenceEqual([upstream]), $"{name}: expected {upstream} at Webex, got [{string.Join(", ", received)}]; answered {response}");
                break;
            case PathOutcome.ForwardedOrRejected when response.Status == 400 && received.Count == 0:
                break;
            case PathOutcome.ForwardedOrRejected:
                Assert.True(received.SequenceEqual([upstream]), $"{name}: expected {upstream} at Webex, got [{string.Join(", ", received)}]; answered {response}");
                break;
            case PathOutcome.Refused:
                Assert.True(response.Status == 400, $"{name}: {response}");
                Assert.Equal("bad_request", JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetString());
                Assert.Empty(received);
                break;
            case PathOutcome.NotProxied:
                Assert.True(response.Status is >= 400 and < 500, $"{name}: {response}");
                Assert.Empty(received);
                break;
        }
    }

    // ───────────────────────── public bot routes ─────────────────────────

    /// <summary>
    /// Calls on a public bot route (<c>/bots/alerts/{**path}</c>, default allow-list <c>POST /v1/messages</c>) with no
    /// cookie and no X-CSRF: the method, the target (a target not starting with '/' is sent in absolute form), the
    /// Content-Type of a JSON body (none when null; GET carries no body), and either the status expected with nothing
    /// forwarded, or 0 and the target Webex must receive.
    /// </summary>
    public static TheoryData<string, string, string?, int, string> PublicBotCalls => new()
    {
        { "GET", "/bots/alerts/v1/rooms", null, 403, "" },
        { "GET", "/bots/alerts/v1/messages?roomId=x", null, 403, "" },
        { "GET", "/bots/alerts/v1/messages", null, 403, "" },
        { "HEAD", "/bots/alerts/v1/messages", null, 403, "" },
        { "DELETE", "/bots/alerts/v1/messages/x", null, 403, "" },
        { "POST", "/bots/alerts/v1/messages/", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1/messages/x", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1/messagesx", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1/Messages", "application/json", 403, "" },
        { "POST", "/bots/alerts/V1/messages", "application/json", 403, "" },
        { "POST", "/bots/alerts//v1/messages", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1//messages", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1%2Fmessages", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1/messages%2F", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1/messages;x", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1/messages%3B", "application/json", 403, "" },
        { "POST", "/bots/alerts/v1/messages%00", "application/json", 400, "" },
        { "POST", "/bots/alerts/v1/rooms/../messages", "application/json", 400, "" },
        { "POST", "/bots/alerts/v1/rooms/%2e%2e/messages", "application/json", 400, "" },
        { "POST", "/bots/alerts/v1/messages/..%2F..%2Frooms", "application/json", 400, "" },
        { "POST", "/bots/alerts/v1/messages\\..\\rooms", "application/json", 400, "" },
        { "post", "/bots/alerts/v1/messages", "application/json", 403, "" },
        { "PATCH", "/bots/alerts/v1/messages", "application/json", 403, "" },
        { "GET", "http://{us}/bots/alerts/v1/rooms", null, 403, "" },
        { "POST", "/bots/alerts/v1/messages", "text/plain", 415, "" },
        { "POST", "/bots/alerts/v1/messages", "text/plain; charset=application/json", 415, "" },
        { "POST", "/bots/alerts/v1/messages", "application/x-www-form-urlencoded", 415, "" },
        { "POST", "/bots/alerts/v1/messages", "multipart/form-data; boundary=b", 415, "" },
        { "POST", "/bots/alerts/v1/messages", "application/json, text/plain", 415, "" },
        { "POST", "/bots/alerts/v1/messages", "application/json\r\nContent-Type: text/plain", 415, "" },
        { "POST", "/bots/alerts/v1/messages", "", 415, "" },
        { "POST", "/bots/alerts/v1/messages", null, 415, "" },
        { "POST", "/bots/alerts/v1/messages", "application/json", 0, "/v1/messages" },
        { "POST", "/BOTS/ALERTS/v1/messages", "application/json; charset=utf-8", 0, "/v1/messages" },
        { "POST", "/bots/alerts/%76%31/%6Dessages", "application/json", 0, "/%76%31/%6Dessages" },
        { "POST", "/bots/alerts/v1/messages?next=/v1/rooms", "application/json", 0, "/v1/messages?next=/v1/rooms" },
        { "POST", "http://{us}/bots/alerts/v1/messages", "application/json", 0, "/v1/messages" },
    };

    [Theory]
    [MemberData(nameof(PublicBotCalls))]
    public async Task A_public_bot_route_forwards_only_a_json_post_of_a_message(string method, string target, string? contentType, int refused, string upstream)
    {
        var (world, botToken, botId) = await Apps.BotRouteTests.WorldWithBotAsync(redis, output);
        await using var _ = world;
        await using var evil = new EvilListener();
        var gateway = world.AddGateway(Apps.BotRouteTests.BotSettings(botToken, isPublic: true));
        world.Webex.Reset();
        target = target.Replace("{us}", gateway.Address.Authority, StringComparison.Ordinal);
        var name = $"{method} {target} ({contentType ?? "no body type"})";
        var body = Encoding.UTF8.GetBytes($$"""{"roomId":"{{world.Webex.RoomIdsFor(botId)[0]}}","text":"hello"}""");
        var headers = new List<string>();
        if (method is not ("GET" or "HEAD" or "DELETE"))
        {
            headers.Add($"Content-Length: {body.Length}");
            if (contentType is not null)
            {
                // A type holding a line break sends a second Content-Type header.
                headers.Add($"Content-Type: {contentType}");
            }
        }

        var request = RawHttp.Request(method, gateway.Address, target, cookie: null, csrf: false, body: null, [.. headers]);
        var response = await RawHttp.SendAsync(gateway.Address, headers.Count > 0 ? request + Encoding.UTF8.GetString(body) : request);

        AssertNoToken(world, response.Text, name);
        AssertOnlyWebexReached(world, evil, name);
        var received = world.Webex.Requests.Select(r => $"{r.Method} {r.RawTarget}").ToList();
        if (refused != 0)
        {
            Assert.True(response.Status == refused, $"{name}: expected {refused}, got {response}\n{response.Body}");
            Assert.True(received.Count == 0, $"{name}: reached Webex as [{string.Join(", ", received)}]");
            if (refused is 403 or 415 && method != "HEAD")
            {
                var error = JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetString();
                Assert.Equal(refused == 403 ? "bot_route_not_allowed" : "unsupported_media_type", error);
            }
        }
        else
        {
            Assert.True(response.Status is >= 200 and < 300, $"{name}: {response}\n{response.Body}");
            Assert.True(received.SequenceEqual([$"POST {upstream}"]), $"{name}: expected POST {upstream} at Webex, got [{string.Join(", ", received)}]");
        }
    }

    // ───────────────────────── WebSockets on Webex routes ─────────────────────────

    /// <summary>
    /// A WebSocket handshake on a Webex route (user or bot): Webex has no WebSocket API behind them, so whatever else the
    /// request carries (session, X-CSRF, the gateway's own origin, or none of them) it is a 400 and Webex is not called.
    /// </summary>
    public static TheoryData<string, bool> WebSocketsOnWebexRoutes => new()
    {
        { "/webex/v1/people/me", true },
        { "/webex/v1/people/me", false },
        { "/webex/v1/messages", true },
        { "/bots/alerts/v1/messages", true },
        { "/bots/alerts/v1/messages", false },
    };

    [Theory]
    [MemberData(nameof(WebSocketsOnWebexRoutes))]
    public async Task A_websocket_upgrade_on_a_webex_or_bot_route_is_a_400_json_and_never_reaches_webex(string target, bool withSessionAndCsrf)
    {
        var (world, botToken, _) = await Apps.BotRouteTests.WorldWithBotAsync(redis, output);
        await using var _ = world;
        var (gateway, browser) = await world.SignedInAsync(Apps.BotRouteTests.BotSettings(botToken, isPublic: true));
        var cookie = withSessionAndCsrf ? $"{SessionCookie}={browser.SessionCookie(gateway.Address)}" : null;
        world.Webex.Reset();
        var name = $"{target} ({(withSessionAndCsrf ? "session and X-CSRF" : "nothing")})";

        var response = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, target, cookie, withSessionAndCsrf,
            [.. Apps.AppWebSocketTests.UpgradeHeaders, $"Origin: http://{gateway.Address.Authority}"]));

        Assert.True(response.Status == 400, $"{name}: {response}\n{response.Body}");
        Assert.Equal("websocket_not_supported", JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetString());
        Assert.Empty(world.Webex.Requests);
        AssertNoToken(world, response.Text, name);
    }

    // ───────────────────────── webhook deliveries ─────────────────────────

    public static TheoryData<string, int> HostileWebhookDeliveries => new()
    {
        { "no-signature", 401 },
        { "empty-signature", 401 },
        { "wrong-signature", 403 },
        { "signed-with-another-webhooks-secret", 403 },
        { "body-changed-after-signing", 403 },
        { "signature-of-the-body-as-sha256", 403 },
        { "unknown-webhook", 404 },
        { "record-copied-onto-another-webhook-id", 404 },
        { "oversized", 413 },
        { "chunked-oversized", 413 },
        { "text-plain", 415 },
        { "form-urlencoded", 415 },
        { "no-content-type", 415 },
        { "not-json", 400 },
        { "json-array", 400 },
        { "no-data", 400 },
        { "data-not-an-object", 400 },
        { "no-id", 400 },
        { "another-resource-than-the-webhooks", 422 },
        { "another-event-than-the-webhooks", 422 },
    };

    /// <summary>
    /// <c>POST /webhooks/webex</c> is public: anybody can post to it. Whatever they post, it is a clear 4xx through the
    /// refusal catalogue and nothing reaches anybody's events.
    /// </summary>
    [Theory]
    [MemberData(nameof(HostileWebhookDeliveries))]
    public async Task A_forged_oversized_or_malformed_webhook_delivery_is_a_4xx_and_nothing_is_delivered(string hostility, int status)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var gateway = world.AddGateway(Webhooks.WebhookDeliveries.LiveEvents());
        var record = await Webhooks.WebhookDeliveries.SeedAsync(gateway, world.Person.Id);
        var other = await Webhooks.WebhookDeliveries.SeedAsync(gateway, world.Person.Id);
        var body = Webhooks.WebhookDeliveries.Body(record);
        var large = Webhooks.WebhookDeliveries.Body(record, extraData: $",\"text\":\"{new string('a', 70 * 1024)}\"");
        string Sign(string text) => Webhooks.WebhookDeliveries.Sign(record.Secret, text);
        if (hostility == "record-copied-onto-another-webhook-id")
        {
            // The record is bound to its webhook id: a copy under another id decrypts to nothing.
            var db = redis.Redis.GetDatabase();
            var copied = $"hook-{Guid.NewGuid():N}";
            await db.StringSetAsync($"{world.KeyPrefix}webhook:{copied}", await db.StringGetAsync($"{world.KeyPrefix}webhook:{record.WebhookId}"));
            body = body.Replace(record.WebhookId, copied, StringComparison.Ordinal);
        }

        HttpContent content = hostility switch
        {
            "oversized" => new StringContent(large, Encoding.UTF8, "application/json"),
            "chunked-oversized" => new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(large))),
            "text-plain" => new StringContent(body, Encoding.UTF8, "text/plain"),
            "form-urlencoded" => new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"),
            "no-content-type" => new ByteArrayContent(Encoding.UTF8.GetBytes(body)),
            "not-json" => new StringContent("{\"id\": \"" + record.WebhookId + "\", nope", Encoding.UTF8, "application/json"),
            "json-array" => new StringContent($"[{body}]", Encoding.UTF8, "application/json"),
            "no-data" => new StringContent(body.Replace("\"data\":", "\"dato\":", StringComparison.Ordinal), Encoding.UTF8, "application/json"),
            "data-not-an-object" => new StringContent(JsonSerializer.Serialize(new { id = record.WebhookId, resource = "messages", @event = "created", data = "x" }), Encoding.UTF8, "application/json"),
            "no-id" => new StringContent(body.Replace("\"id\":\"" + record.WebhookId, "\"webhook\":\"" + record.WebhookId, StringComparison.Ordinal), Encoding.UTF8, "application/json"),
            "unknown-webhook" => new StringContent(body.Replace(record.WebhookId, "hook-nobody-made", StringComparison.Ordinal), Encoding.UTF8, "application/json"),
            "another-resource-than-the-webhooks" => new StringContent(Webhooks.WebhookDeliveries.Body(record, resource: "memberships"), Encoding.UTF8, "application/json"),
            "another-event-than-the-webhooks" => new StringContent(Webhooks.WebhookDeliveries.Body(record, @event: "deleted"), Encoding.UTF8, "application/json"),
            _ => new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (hostility == "chunked-oversized")
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        var sent = await content.ReadAsStringAsync();
        var signature = hostility switch
        {
            "no-signature" => null,
            "empty-signature" => "",
            "wrong-signature" => new string('0', 40),
            "signed-with-another-webhooks-secret" => Webhooks.WebhookDeliveries.Sign(other.Secret, sent),
            "body-changed-after-signing" => Sign(sent.Replace("msg-1", "msg-2", StringComparison.Ordinal)),
            "signature-of-the-body-as-sha256" => Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(record.Secret), Encoding.UTF8.GetBytes(sent))),
            _ => Sign(sent),
        };
        using var http = CookielessClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.Address, "/webhooks/webex")) { Content = content };
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Spark-Signature", signature);
        }

        if (hostility == "chunked-oversized")
        {
            request.Headers.TransferEncodingChunked = true;
        }

        using var response = await http.SendAsync(request);
        var answer = await response.Content.ReadAsStringAsync();

        Assert.True((int)response.StatusCode == status, $"{hostility}: {(int)response.StatusCode} {answer}");
        using var json = JsonDocument.Parse(answer);
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("error").GetString()));
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("message").GetString()));
        Assert.DoesNotContain(record.Secret, answer, StringComparison.Ordinal);
        Assert.Empty(await Webhooks.WebhookDeliveries.EventLogAsync(gateway, world.Person.Id));
        Assert.DoesNotContain(gateway.Logs, line => line.Contains(record.Secret, StringComparison.Ordinal));
    }

    // ───────────────────────── sizes ─────────────────────────

    public static TheoryData<string, int> Oversized => new()
    {
        { "64KiB-cookie-on-webex", 431 },
        { "64KiB-cookie-on-auth-user", 431 },
        { "64KiB-cookie-on-callback", 431 },
        { "64KiB-csrf-header", 431 },
        { "200-headers", 431 },
        { "100KB-query-on-webex", 414 },
        { "100KB-query-on-login", 414 },
        { "100KB-query-on-callback", 414 },
        { "100KB-path-on-webex", 414 },
        { "100MB-content-length-on-webex", 413 },
        { "just-over-the-30MB-body-limit", 413 },
        { "just-over-the-100MiB-upload-limit-and-its-1MiB-for-fields", 413 },
        { "30MB-multipart-on-rooms", 413 },
        { "body-that-stops-arriving-within-the-replay-buffer", 408 },
        { "body-that-stops-arriving-beyond-the-replay-buffer", 408 },
        { "webhook-delivery-that-stops-arriving", 408 },
    };

    [Theory]
    [MemberData(nameof(Oversized))]
    public async Task Oversized_headers_bodies_and_query_strings_get_their_4xx(string name, int expected)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        await using var evil = new EvilListener();
        var (gateway, browser) = await world.SignedInAsync();
        var cookie = $"{SessionCookie}={browser.SessionCookie(gateway.Address)}";
        world.Webex.Reset();
        var g = gateway.Address;
        var big = new string('a', 64 * 1024);
        var longQuery = "x=" + new string('q', 100_000);
        var request = name switch
        {
            "64KiB-cookie-on-webex" => RawHttp.Get(g, "/webex/v1/people/me", $"{cookie}; big={big}"),
            "64KiB-cookie-on-auth-user" => RawHttp.Get(g, "/auth/user", $"{cookie}; big={big}"),
            "64KiB-cookie-on-callback" => RawHttp.Get(g, "/auth/callback?code=c&state=s", $"big={big}"),
            "64KiB-csrf-header" => RawHttp.Get(g, "/webex/v1/people/me", cookie, false, $"X-CSRF: 1{big}"),
            "200-headers" => RawHttp.Get(g, "/webex/v1/people/me", cookie, true, Enumerable.Range(0, 200).Select(i => $"X-Junk-{i}: {i}").ToArray()),
            "100KB-query-on-webex" => RawHttp.Get(g, $"/webex/v1/rooms?{longQuery}", cookie),
            "100KB-query-on-login" => RawHttp.Get(g, $"/auth/login?returnUrl=/{longQuery}", null, false),
            "100KB-query-on-callback" => RawHttp.Get(g, $"/auth/callback?code=c&state={longQuery}", null, false),
            "100KB-path-on-webex" => RawHttp.Get(g, $"/webex/v1/rooms/{new string('r', 100_000)}", cookie),
            "100MB-content-length-on-webex" => Post(100_000_000, "{}"),
            "just-over-the-30MB-body-limit" => Post(30_000_001, "{}"),
            "just-over-the-100MiB-upload-limit-and-its-1MiB-for-fields" => Post((101 * 1024 * 1024) + 1, "--b\r\n", "multipart/form-data; boundary=b"),
            "30MB-multipart-on-rooms" => Post(30_000_001, "--b\r\n", "multipart/form-data; boundary=b", "/webex/v1/rooms"),
            "body-that-stops-arriving-within-the-replay-buffer" => Post(1000, "{\"roomId\":"),
            "body-that-stops-arriving-beyond-the-replay-buffer" => Post(2 * 1024 * 1024, "{\"roomId\":"),
            "webhook-delivery-that-stops-arriving" => Post(1000, "{\"id\":", target: "/webhooks/webex"),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        // A body that stops arriving is ended by Kestrel's minimum data rate (5 s of grace), not by the client.
        var response = await RawHttp.SendAsync(g, request, TimeSpan.FromSeconds(20));

        Assert.True(response.Status == expected, $"{name}: expected {expected}, got {response}\n{response.Body}");
        if (expected == 413)
        {
            Assert.Contains("\"payload_too_large\"", response.Body, StringComparison.Ordinal);
        }

        AssertNoToken(world, response.Text, name);
        AssertOnlyWebexReached(world, evil, name);
        Assert.DoesNotContain(world.Webex.Requests, r => r.Method == "POST");
        // Nothing about it harmed the gateway.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(g, "/webex/v1/people/me"), csrf: true)).StatusCode);

        // A Content-Length the body does not have to match: the headers come from RawHttp, the body follows as given.
        string Post(long length, string body, string type = "application/json", string target = "/webex/v1/messages") =>
            RawHttp.Request("POST", g, target, cookie, csrf: true, body: null, $"Content-Type: {type}", $"Content-Length: {length}") + body;
    }

    // ───────────────────────── methods ─────────────────────────

    public static TheoryData<string, string, int> WrongMethods => new()
    {
        { "GET", "/webhooks/webex", 405 },
        { "PUT", "/webhooks/webex", 405 },
        { "DELETE", "/webhooks/webex", 405 },
        { "PATCH", "/webhooks/webex", 405 },
        { "POST", "/auth/login", 405 },
        { "PUT", "/auth/login", 405 },
        { "DELETE", "/auth/login", 405 },
        { "PATCH", "/auth/login", 405 },
        { "POST", "/auth/user", 405 },
        { "PUT", "/auth/user", 405 },
        { "DELETE", "/auth/user", 405 },
        { "TRACE", "/auth/user", 405 },
        { "GET", "/auth/logout", 405 },
        { "HEAD", "/auth/logout", 405 },
        { "PUT", "/auth/logout", 405 },
        { "DELETE", "/auth/logout", 405 },
        { "OPTIONS", "/auth/logout", 405 },
        { "CONNECT", "/auth/login", 405 },
        { "CONNECT", "/webex/v1/people/me", 405 },
        { "CONNECT", "/webex/v1/messages", 405 },
        // The OAuth handler owns the callback path whatever the method: without a GET's state it is the 400 page.
        { "POST", "/auth/callback", 400 },
        { "PUT", "/auth/callback", 400 },
    };

    [Theory]
    [MemberData(nameof(WrongMethods))]
    public async Task A_wrong_method_is_refused_and_changes_nothing(string method, string path, int expected)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var cookie = $"{SessionCookie}={browser.SessionCookie(gateway.Address)}";
        world.Webex.Reset();

        var response = await RawHttp.SendAsync(gateway.Address,
            RawHttp.Request(method, gateway.Address, path, cookie, csrf: true, body: method is "POST" or "PUT" or "PATCH" ? "{}" : null));

        Assert.True(response.Status == expected, $"{method} {path}: {response}\n{response.Body}");
        AssertNoToken(world, response.Text, $"{method} {path}");
        Assert.DoesNotContain(response.Header("Set-Cookie"), c => c.StartsWith(SessionCookie, StringComparison.Ordinal));
        Assert.Equal(0, world.Webex.TokenCalls);
        Assert.Empty(world.Webex.Requests);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/auth/user"))).StatusCode);
    }

    // ───────────────────────── helpers ─────────────────────────

    private static void AssertNoToken(TestWorld world, string text, string context)
    {
        foreach (var secret in world.Webex.IssuedSecrets)
        {
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{context}: the response holds a Webex token or code");
        }
    }

    /// <summary>Nothing went to the evil listener, and what went to Webex went with Webex's own Host and no browser credentials.</summary>
    private static void AssertOnlyWebexReached(TestWorld world, EvilListener evil, string context)
    {
        evil.AssertUntouched(context);
        foreach (var request in world.Webex.Requests)
        {
            Assert.Equal(world.Emulator.BaseUrl.Authority, request.Headers["Host"]);
            Assert.False(request.Headers.ContainsKey("Cookie"), $"{context}: the browser's cookie reached Webex");
            Assert.DoesNotContain(request.Headers.Keys, k => k.StartsWith("X-Forwarded", StringComparison.OrdinalIgnoreCase) || k == "Forwarded");
        }
    }

    private static void AssertLocal(string location, string context)
    {
        Assert.True(location.StartsWith('/') && !location.StartsWith("//", StringComparison.Ordinal) && !location.StartsWith("/\\", StringComparison.Ordinal)
                    && !location.Any(char.IsControl),
            $"{context}: '{location}' is not a local path");
        // Resolved the way a browser resolves a Location, it stays on the gateway.
        Assert.Equal("gateway.test", new Uri(new Uri("http://gateway.test/"), location).Host);
    }

    /// <summary>Changes one base64url character so that the decoded bytes change (the top bit of its six always counts).</summary>
    private static string FlipBase64Url(string value, int index)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var position = alphabet.IndexOf(value[index], StringComparison.Ordinal);
        Assert.True(position >= 0, $"'{value[index]}' is not base64url");
        var chars = value.ToCharArray();
        chars[index] = alphabet[position ^ 32];
        return new string(chars);
    }

    // ───────────────────────── rate limits ─────────────────────────

    /// <summary>A runaway client cannot dodge its cool-down by spelling the resource Webex rate-limited differently.</summary>
    [Theory]
    [InlineData("/webex/v1/ROOMS")]
    [InlineData("/webex/v1/rooms/")]
    [InlineData("/webex//v1/rooms")]
    [InlineData("/webex/v1//rooms/abc")]
    [InlineData("/webex/v1/rooms%2Fanything")]
    [InlineData("/webex/v1/rooms%2fanything")]
    [InlineData("/webex/v1/rooms?max=1")]
    public async Task A_cool_down_cannot_be_dodged_by_spelling_the_resource_differently(string path)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.RateLimit(world.Person.Id, "v1/rooms", "30");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/rooms"), csrf: true)).StatusCode);
        world.Webex.Reset();

        // Sent as written: an HttpClient would clean up the path first.
        var answer = await RawHttp.SendAsync(gateway.Address, RawHttp.Get(gateway.Address, path, $"{SessionCookie}={browser.SessionCookie(gateway.Address)}"));

        Assert.True(answer.Status == 429, $"{path}: {answer.Status} {answer.Body}");
        Assert.Contains("\"source\":\"webex\"", answer.Body);
        Assert.Empty(world.Webex.Requests);
    }

    // ───────────────────────── live events ─────────────────────────

    /// <summary>
    /// A Last-Event-ID that is not a position of the person's log (not digits, negative, past the newest, overflowing)
    /// starts the stream at the newest event: never a 500, never events replayed or skipped.
    /// </summary>
    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1e3")]
    [InlineData("0x1")]
    [InlineData("+1")]
    [InlineData("2.5")]
    [InlineData("99")]
    [InlineData("99999999999999999999999")]
    public async Task A_last_event_id_that_is_no_position_starts_the_stream_at_the_newest_event(string lastEventId)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var events = gateway.Services.GetRequiredService<WebexGateway.Events.PersonEvents>();
        for (var i = 1; i <= 2; i++)
        {
            await events.AppendAsync(new WebexGateway.Events.WebexEvent(world.Person.Id, $"event-{i}", "messages", "created", null, null, JsonDocument.Parse("{}").RootElement));
        }

        await using var stream = await Events.EventStreamClient.OpenAsync(browser, gateway, headers => headers.TryAddWithoutValidation("Last-Event-ID", lastEventId));

        Assert.Equal(HttpStatusCode.OK, stream.Status);
        Assert.Equal("2", (await stream.NextAsync()).Id);
        await events.AppendAsync(new WebexGateway.Events.WebexEvent(world.Person.Id, "event-3", "messages", "created", null, null, JsonDocument.Parse("{}").RootElement));
        Assert.Equal("3", (await stream.NextEventAsync()).Id);
    }

    private static HttpClient CookielessClient() =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

    private sealed record Answer(HttpStatusCode Status, string Body, string ContentType, string[] SetCookies, string Text);

    private static async Task<Answer> SendAsync(HttpClient http, HttpMethod method, Uri url, string? cookie, bool csrf = false, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", cookie);
        }

        if (csrf)
        {
            request.Headers.Add("X-CSRF", "1");
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var setCookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.ToArray() : [];
        var text = new StringBuilder().AppendJoin("\n", response.Headers.Select(h => $"{h.Key}: {string.Join(",", h.Value)}")).Append('\n').Append(body).ToString();
        return new Answer(response.StatusCode, body, response.Content.Headers.ContentType?.ToString() ?? "", setCookies, text);
    }
}
