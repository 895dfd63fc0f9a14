using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using WebexGateway.Auth;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Security;

/// <summary>
/// Thousands of malformed requests at /auth/* and /webex/*, written byte for byte: odd methods and targets, bad
/// percent-encoding, control characters, spoofed hosts, forged cookies and states, broken framing, oversized parts.
/// None may get a 5xx (Webex stays healthy here, so not even a 502/503 would be upstream-caused), hang, carry a token,
/// redirect off the gateway, or make the gateway call anything but Webex's ApiUrl.
/// The seed is random and printed; set GATEWAY_FUZZ_SEED to replay a run (secrets differ, the requests' shapes do not).
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RandomizedInputTests(RedisFixture redis, ITestOutputHelper output)
{
    private const int RequestCount = 4000;
    private const int Parallelism = 16;
    private const string RedirectUri = "http://gateway.invalid/auth/callback";
    private const string SessionCookie = AuthExtensions.SessionCookieName;
    private static readonly TimeSpan PerRequest = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Thousands_of_malformed_requests_get_no_5xx_no_hang_no_token_and_reach_nothing_but_webex()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("GATEWAY_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var fixedSeed)
            ? fixedSeed
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (GATEWAY_FUZZ_SEED={seed} replays this run)");

        await using var world = await TestWorld.StartAsync(redis, output);
        await using var evil = new EvilListener();
        // A configured redirect URI: then no absolute URL the gateway emits may depend on the request at all.
        var gateway = world.AddGateway(new Dictionary<string, string?>
        {
            ["Webex:RedirectUri"] = RedirectUri,
            ["Logging:LogLevel:Default"] = "Warning",
            // The run signs in 17 times and fails thousands of sign-ins from one address: the limits would answer 429 to
            // most of it, and the fuzzer is here for what lies behind them.
            ["Gateway:SignInLimit:PermitLimit"] = "1000000",
            ["Gateway:SignInLimit:FailedCallbackLimit"] = "1000000",
            // Thousands of calls of one person in a minute: the per-person limit too.
            ["Gateway:RateLimit:PermitsPerMinute"] = "0",
        });
        var context = await FuzzContext.CreateAsync(world, gateway, evil);

        var random = new Random(seed);
        var requests = Enumerable.Range(0, RequestCount).Select(i => Generate(random, context, i)).ToList();

        var failures = new ConcurrentBag<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var samples = new ConcurrentDictionary<int, ConcurrentQueue<string>>();
        var latencies = new ConcurrentBag<(TimeSpan Elapsed, string Shape)>();
        var responses = new ConcurrentBag<(FuzzRequest Request, string Text)>();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (request, _) =>
        {
            RawResponse response;
            try
            {
                response = await RawHttp.SendAsync(gateway.Address, request.Bytes, PerRequest);
            }
            catch (TimeoutException e)
            {
                failures.Add(Describe(seed, request, $"hung: {e.Message[..Math.Min(200, e.Message.Length)]}"));
                return;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                failures.Add(Describe(seed, request, $"connection failed: {e.Message}"));
                return;
            }

            statuses.AddOrUpdate(response.Status, 1, (_, n) => n + 1);
            latencies.Add((response.Elapsed, request.Shape));
            var sample = samples.GetOrAdd(response.Status, _ => new ConcurrentQueue<string>());
            if (sample.Count < 3)
            {
                sample.Enqueue($"#{request.Index} {request.Shape}");
            }

            responses.Add((request, response.Text));
            foreach (var problem in Check(response, context))
            {
                failures.Add(Describe(seed, request, $"{problem}; answered {response}\n{Truncate(response.Body, 300)}"));
            }
        });
        var elapsed = clock.Elapsed;
        output.WriteLine($"{RequestCount} requests in {elapsed.TotalSeconds:0.0} s, {world.Webex.Requests.Count} of them forwarded to Webex; statuses: "
                         + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        var sorted = latencies.OrderBy(l => l.Elapsed).ToList();
        output.WriteLine($"latency p50 {sorted[sorted.Count / 2].Elapsed.TotalMilliseconds:0} ms, p90 {sorted[sorted.Count * 9 / 10].Elapsed.TotalMilliseconds:0} ms, "
                         + $"p99 {sorted[sorted.Count * 99 / 100].Elapsed.TotalMilliseconds:0} ms; slowest: "
                         + string.Join("; ", sorted.TakeLast(12).Select(l => $"{l.Elapsed.TotalMilliseconds:0} ms {l.Shape}")));
        foreach (var (status, sample) in samples.OrderBy(s => s.Key))
        {
            output.WriteLine($"  {status}: {string.Join("; ", sample)}");
        }


        // Tokens issued during the run (a pending sign-in the fuzzer completed) count too.
        var secrets = world.Webex.IssuedSecrets.ToArray();
        foreach (var (request, text) in responses)
        {
            if (secrets.FirstOrDefault(secret => text.Contains(secret, StringComparison.Ordinal)) is not null)
            {
                failures.Add(Describe(seed, request, "the response holds a Webex token or code"));
            }
        }

        foreach (var received in world.Webex.Requests)
        {
            var problem = received switch
            {
                _ when received.Headers.GetValueOrDefault("Host") != world.Emulator.BaseUrl.Authority => $"Host {received.Headers.GetValueOrDefault("Host")}",
                _ when !received.RawTarget.StartsWith('/') => "a target not in origin form",
                _ when received.Headers.ContainsKey("Cookie") => "the browser's Cookie",
                _ when received.Headers.Keys.Any(k => k.StartsWith("X-Forwarded", StringComparison.OrdinalIgnoreCase) || k.Equals("Forwarded", StringComparison.OrdinalIgnoreCase)) => "forwarding headers",
                _ when !received.Headers.TryGetValue("Authorization", out var auth) || !auth.StartsWith("Bearer ", StringComparison.Ordinal) || !secrets.Contains(auth["Bearer ".Length..]) => "an Authorization that is not the user's Bearer",
                _ => null,
            };
            if (problem is not null)
            {
                failures.Add($"seed {seed}: Webex received {received.Method} {Truncate(received.RawTarget, 200)} with {problem}");
            }
        }

        if (!evil.Received.IsEmpty)
        {
            failures.Add($"seed {seed}: a request reached a host other than Webex's ApiUrl:\n{string.Join("\n---\n", evil.Received.Take(3))}");
        }

        Assert.True(failures.IsEmpty, $"seed {seed}: {failures.Count} failures (GATEWAY_FUZZ_SEED={seed} replays the run); the first ones:\n\n"
                                      + string.Join("\n\n", failures.Take(15)));

        // Nothing of it left a mark: the gateway is alive and a new user signs in and calls Webex.
        var browser = world.NewBrowser();
        await FuzzContext.SignInAsync(gateway, browser);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/healthz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
        Assert.True(statuses.Keys.Count(s => s is >= 200 and < 400) > 0 && statuses.Keys.Count(s => s >= 400) > 1,
            $"seed {seed}: the requests did not exercise both sides: {string.Join(", ", statuses.Keys)}");
    }

    /// <summary>What a response may not be. An empty list: fine.</summary>
    private static IEnumerable<string> Check(RawResponse response, FuzzContext context)
    {
        if (response.NoResponse)
        {
            yield return "no response";
            yield break;
        }

        // Webex (the emulator) stays healthy and fault-free throughout, and every body sent fits its limits: an upstream-caused
        // 502/503 cannot happen here, so any 5xx, even one worded as Webex's fault, is the gateway's.
        if (response.Status >= 500)
        {
            yield return $"a {response.Status}{(TryJsonError(response.Body) is { } error ? $" ({error})" : "")}";
        }

        foreach (var location in response.Header("Location"))
        {
            if (location.StartsWith(context.AuthorizeUrl + "?", StringComparison.Ordinal))
            {
                var redirect = QueryHelpers.ParseQuery(new Uri(location).Query)["redirect_uri"].ToString();
                if (redirect != RedirectUri)
                {
                    yield return $"an authorize redirect with redirect_uri {redirect}";
                }
            }
            else if (!IsLocal(location))
            {
                yield return $"a redirect off the gateway: {location}";
            }
        }

        foreach (var link in response.Header("Link"))
        {
            foreach (var target in link.Split('<').Skip(1).Select(part => part.Split('>')[0]))
            {
                if (!target.StartsWith("/webex/", StringComparison.Ordinal))
                {
                    yield return $"a Link that does not point at the gateway: {target}";
                }
            }
        }

        foreach (var cookie in response.Header("Set-Cookie"))
        {
            if (cookie.Contains("domain=", StringComparison.OrdinalIgnoreCase))
            {
                yield return $"a cookie with a domain: {cookie}";
            }
        }
    }

    private static bool IsLocal(string location) =>
        location.StartsWith('/') && !location.StartsWith("//", StringComparison.Ordinal) && !location.StartsWith("/\\", StringComparison.Ordinal)
        && !location.Any(char.IsControl)
        && new Uri(new Uri("http://gateway.test/"), location).Host == "gateway.test";

    private static string? TryJsonError(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Describe(int seed, FuzzRequest request, string problem) =>
        $"seed {seed}, request #{request.Index} ({request.Shape}): {problem}\n  sent: {Printable(request.Bytes)}";

    private static string Printable(byte[] bytes)
    {
        var text = new StringBuilder();
        foreach (var b in bytes.Take(600))
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                < 0x20 or >= 0x7f => $"\\x{b:x2}",
                _ => ((char)b).ToString(),
            });
        }

        return bytes.Length > 600 ? $"{text}... ({bytes.Length} bytes)" : text.ToString();
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "...";

    // ───────────────────────── the generator ─────────────────────────

    private sealed record FuzzRequest(int Index, string Shape, byte[] Bytes);

    /// <summary>What the generator mixes into requests: real cookies, real pending sign-ins, and the evil listener's address.</summary>
    private sealed class FuzzContext
    {
        public required string Us { get; init; }

        public required string Evil { get; init; }

        public required string AuthorizeUrl { get; init; }

        public required string Session { get; init; }

        public required string RoomId { get; init; }

        /// <summary>Sign-ins that reached the callback step: the callback's path and query, and the correlation cookie.</summary>
        public required List<(string Callback, string Correlation)> Pending { get; init; }

        public static async Task<FuzzContext> CreateAsync(TestWorld world, GatewayHost gateway, EvilListener evil)
        {
            var browser = world.NewBrowser();
            await SignInAsync(gateway, browser);
            var pending = new List<(string Callback, string Correlation)>();
            for (var i = 0; i < 16; i++)
            {
                var stranger = world.NewBrowser();
                var callback = await stranger.ConsentAsync(gateway.Address);
                var correlation = stranger.Cookies.GetCookies(new Uri(gateway.Address, "/auth/callback")).Single();
                pending.Add((callback.PathAndQuery, $"{correlation.Name}={correlation.Value}"));
            }

            return new FuzzContext
            {
                Us = gateway.Address.Authority,
                Evil = evil.Authority,
                AuthorizeUrl = new Uri(world.Emulator.BaseUrl, "/v1/authorize").ToString(),
                Session = $"{SessionCookie}={browser.SessionCookie(gateway.Address)}",
                RoomId = Uri.EscapeDataString(world.Webex.RoomIds[0]),
                Pending = pending,
            };
        }

        /// <summary>Webex sends the browser to the configured redirect URI; the same path and query on the gateway finish the sign-in.</summary>
        public static async Task SignInAsync(GatewayHost gateway, Browser browser)
        {
            var callback = await browser.ConsentAsync(gateway.Address);
            Assert.StartsWith(RedirectUri, callback.ToString());
            var done = await browser.GetAsync(new Uri(gateway.Address, callback.PathAndQuery));
            Assert.Equal(HttpStatusCode.Found, done.StatusCode);
        }
    }

    private static readonly string[] Methods = ["GET", "GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "get", "G@T", "CONNECT", "PROPFIND", "X"];

    private static readonly string[] Bases =
    [
        "/auth/login", "/auth/login", "/auth/callback", "/auth/callback", "/auth/user", "/auth/logout", "/auth/", "/auth",
        "/webex/v1/people/me", "/webex/v1/people/me", "/webex/v1/rooms", "/webex/v1/rooms/{room}", "/webex/v1/messages", "/webex", "/webex/",
        "/WEBEX/v1/rooms", "/Auth/Login", "/", "/healthz",
    ];

    private static readonly string[] ProxyBases =
    [
        "/webex/v1/people/me", "/webex/v1/rooms", "/webex/v1/rooms/{room}", "/webex/v1/messages", "/webex/v1/people", "/webex", "/webex/",
        "/WEBEX/v1/rooms",
    ];

    private static readonly string[] Segments =
    [
        "..", ".", "%2e%2e", "%2E%2e", ".%2e", "%2e", "%2F", "%2f%2e%2e%2f", "%5C", "\\", "\\..\\", "", "/", "//", "http://{evil}",
        "https:%2F%2F{evil}", "@{evil}", "{evil}", ":{evilport}", "%00", "%", "%zz", "%C3%A9", "%FF%FE", "%252e%252e", "%252F", ";x=1",
        "~", "*", "%20", "+", "%0d%0a", "%u002e", "\u00c3\u00a9", "\u00ff", "\u0001", "\u007f", "%3F", "%23", "#frag", "v1", "rooms",
        "people", "me", "x",
    ];

    private static readonly string[] ReturnUrls =
    [
        "//{evil}", "/\\{evil}", "https://{evil}", "javascript:alert(1)", "%2F%2F{evil}", "/%2F%2F{evil}", "/%09/{evil}", "%5C%5C{evil}",
        "/app", "/", "", "http:{evil}", "%252F%252F{evil}", "/%0d%0aSet-Cookie:x=1", "%E2%80%AE//{evil}", "/.//{evil}",
    ];

    private static readonly string[] Errors = ["access_denied", "server_error", "invalid_scope", "temporarily_unavailable", "invalid_request", "%3Cscript%3E", ""];

    private static FuzzRequest Generate(Random random, FuzzContext context, int index)
    {
        var shape = new List<string>();
        string Pick(string[] options) => options[random.Next(options.Length)];
        bool Chance(double p) => random.NextDouble() < p;

        // Four in ten are aimed at the proxy with a real session and the CSRF header, so they get past its checks and are forwarded.
        var focused = Chance(0.4);
        if (focused)
        {
            shape.Add("signed-in-proxy-call");
        }

        // The request line.
        var method = Chance(0.05) ? RandomToken(random, 1, 12) : Pick(Methods);
        var @base = focused ? Pick(ProxyBases) : Pick(Bases);
        var target = new StringBuilder(@base);
        var segments = random.Next(0, 4);
        for (var i = 0; i < segments; i++)
        {
            target.Append(Chance(0.7) ? "/" : "").Append(Pick(Segments));
        }

        string? pending = null;
        if (@base == "/auth/callback" && Chance(0.3) && context.Pending.Count > 0)
        {
            // A real pending sign-in, its query kept, mangled or mixed with others.
            var (callback, correlation) = context.Pending[random.Next(context.Pending.Count)];
            target.Clear().Append(callback);
            pending = correlation;
            shape.Add("pending-callback");
            if (Chance(0.5))
            {
                target.Append('&').Append(Pick(["code=x", "state=x", "error=access_denied", "code=", "state="]));
            }
        }
        else if (Chance(0.6))
        {
            target.Append('?');
            var pairs = random.Next(1, 5);
            for (var i = 0; i < pairs; i++)
            {
                target.Append(i > 0 ? "&" : "").Append(random.Next(9) switch
                {
                    0 or 1 => $"returnUrl={Pick(ReturnUrls)}",
                    2 => $"code={RandomToken(random, 0, 40)}",
                    3 => $"state={(Chance(0.5) ? "CfDJ8" : "")}{RandomToken(random, 0, 200)}",
                    4 => $"error={Pick(Errors)}&error_description={Pick(Segments)}",
                    5 => $"max={Pick(["1", "0", "-1", "99999999999", "x", "%31", ""])}",
                    6 => $"cursor={RandomToken(random, 0, 30)}",
                    7 => Pick(["&&==", "=", "%", "a=%zz", "a[]=1", "a=%00", "a=%C3", "?", "#", "a=b=c", "returnUrl=/a&returnUrl=//{evil}"]),
                    _ => $"{RandomToken(random, 1, 8)}={Pick(Segments)}",
                });
            }
        }

        if (Chance(0.005))
        {
            target.Append(Chance(0.5) ? "?" : "&").Append("q=").Append('q', random.Next(8_000, 20_000));
            shape.Add("long-target");
        }

        var requestTarget = target.ToString();
        var host = context.Us;
        switch (random.Next(40))
        {
            case 0:
                requestTarget = $"http://{context.Us}{requestTarget}";
                shape.Add("absolute-form");
                break;
            case 1:
                requestTarget = $"http://{context.Evil}{requestTarget}";
                host = context.Evil;
                shape.Add("absolute-form-evil");
                break;
            case 2:
                requestTarget = requestTarget.TrimStart('/');
                shape.Add("no-leading-slash");
                break;
            case 3:
                requestTarget = "*";
                shape.Add("asterisk");
                break;
        }

        var version = Chance(0.08) ? "HTTP/1.0" : "HTTP/1.1";
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(requestTarget).Append(' ').Append(version).Append("\r\n");

        // Host.
        if (Chance(0.85))
        {
            head.Append("Host: ").Append(host).Append("\r\n");
        }
        else
        {
            var spoofed = Pick(["{evil}", "evil.example", "", "gateway.invalid", "a b", "[::1]", "127.0.0.1:99999", "{us}, {evil}", "{us}\r\nHost: {evil}", "-"]);
            if (spoofed != "-")
            {
                head.Append("Host: ").Append(spoofed).Append("\r\n");
            }

            shape.Add("odd-host");
        }

        // CSRF.
        if (focused || Chance(0.65))
        {
            head.Append("X-CSRF: 1\r\n");
        }
        else if (Chance(0.5))
        {
            head.Append("X-CSRF: ").Append(Pick(["0", "", "1,1", "true", "1 1", "1\r\nX-CSRF: 1", "\u00001"])).Append("\r\n");
            shape.Add("odd-csrf");
        }

        // Cookies: never the real session on a logout, so the session survives the run (mostly: normalization may still get there).
        var cookies = new List<string>();
        var roll = random.Next(10);
        if (pending is not null && Chance(0.8))
        {
            cookies.Add(pending);
        }

        if ((focused || roll < 4) && !@base.Contains("logout", StringComparison.OrdinalIgnoreCase))
        {
            cookies.Add(context.Session);
        }
        else if (roll < 7 && !focused)
        {
            cookies.Add(Pick([
                $"{SessionCookie}=", $"{SessionCookie}=CfDJ8" + RandomToken(random, 0, 300), $"{SessionCookie}=chunks-99",
                $"{SessionCookie}=chunks-2; {SessionCookie}C1=a; {SessionCookie}C2=b",
                context.Session[..(context.Session.Length / 2)], context.Session + "x", ".AspNetCore.Correlation.x=N", "=;;=", "a=\u0001",
                $"{SessionCookie}=\"quoted\"",
            ]));
            shape.Add("forged-cookie");
        }

        if (Chance(0.005))
        {
            cookies.Add("big=" + new string('c', random.Next(20_000, 70_000)));
            shape.Add("huge-cookie");
        }

        if (cookies.Count > 0)
        {
            head.Append("Cookie: ").Append(string.Join("; ", cookies)).Append("\r\n");
        }

        // Forwarding and other hostile headers.
        string[] spoofing =
        [
            "X-Forwarded-Host: {evil}", "X-Forwarded-Proto: https", "X-Forwarded-For: 203.0.113.9", "X-Forwarded-Prefix: /evil",
            "Forwarded: for=203.0.113.9;host={evil};proto=https", "X-Original-URL: /auth/logout", "X-Rewrite-URL: //{evil}/",
            "X-HTTP-Method-Override: DELETE", "Referer: http://{us}//{evil}/", "Referer: http://{evil}/app", "Origin: http://{evil}",
            "Authorization: Bearer browser-supplied", "Authorization: Basic Og==", "Proxy-Authorization: Basic Og==",
            "Accept-Encoding: gzip, br", "Range: bytes=0-1", "If-None-Match: *", "TE: trailers", "Upgrade: websocket",
        ];
        for (var i = random.Next(0, 4); i > 0; i--)
        {
            head.Append(Pick(spoofing)).Append("\r\n");
        }

        // Malformed header lines.
        if (Chance(0.08))
        {
            head.Append(Pick([
                "X Bad: 1", "X:Bad:1", "NoColon", " folded: continuation", "X-Nul: a\u0000b", "X-Ctl: \u0001", ": empty-name", "X-Long: " + new string('v', 9000),
                "X-Utf8: \u00c3\u00a9\u00ff", "Content-Length: abc", "Content-Length: -1", "Content-Length: 1, 2", "Transfer-Encoding: gzip",
            ])).Append("\r\n");
            shape.Add("bad-header");
        }

        if (Chance(0.003))
        {
            for (var i = 0; i < 120; i++)
            {
                head.Append("X-Many-").Append(i).Append(": ").Append(i).Append("\r\n");
            }

            shape.Add("many-headers");
        }

        // A body, framed well or badly.
        byte[] body = [];
        var framing = random.Next(100);
        if (framing < 25)
        {
            body = Chance(0.5) ? Encoding.UTF8.GetBytes(Pick(["{}", "{\"roomId\":\"x\",\"text\":\"hi\"}", "[", "null", "{\"text\":\"\u0000\"}"])) : RandomBytes(random, random.Next(0, 3000));
            head.Append("Content-Type: ").Append(Pick(["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "x/y;;"])).Append("\r\n");
            head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
            if (Chance(0.1))
            {
                head.Append("Expect: 100-continue\r\n");
            }
        }
        else if (framing < 32)
        {
            var data = RandomBytes(random, random.Next(0, 500));
            // A chunk that announces more than it holds waits for Kestrel's minimum data rate (seconds): kept rare.
            body = Encoding.Latin1.GetBytes(random.Next(100) switch
            {
                < 50 => $"{data.Length:x}\r\n{Encoding.Latin1.GetString(data)}\r\n0\r\n\r\n",
                < 75 => $"zz\r\n{Encoding.Latin1.GetString(data)}\r\n0\r\n\r\n",
                < 98 => $"FFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n",
                _ => $"{data.Length + 10:x}\r\n{Encoding.Latin1.GetString(data)}0\r\n\r\n",
            });
            head.Append("Transfer-Encoding: chunked\r\n");
            if (Chance(0.2))
            {
                head.Append("Content-Length: 3\r\n");
            }

            shape.Add("chunked");
        }
        else if (framing < 33 && Chance(0.15))
        {
            // Announces more than it sends: Kestrel's minimum data rate has to end it, after seconds, so it is kept rare.
            body = "{\"a\":"u8.ToArray();
            head.Append("Content-Length: ").Append(Pick(["100", "2000000"])).Append("\r\n");
            shape.Add("short-body");
        }
        else if (framing < 34)
        {
            head.Append("Content-Length: ").Append(Pick(["30000001", "9999999999999", "99999999999999999999999"])).Append("\r\n");
            body = "{}"u8.ToArray();
            shape.Add("huge-content-length");
        }

        head.Append("Connection: close\r\n\r\n");
        var text = head.ToString()
            .Replace("{evil}", context.Evil, StringComparison.Ordinal)
            .Replace("{evilport}", context.Evil.Split(':')[1], StringComparison.Ordinal)
            .Replace("{us}", context.Us, StringComparison.Ordinal)
            .Replace("{room}", context.RoomId, StringComparison.Ordinal);
        var bytes = Encoding.Latin1.GetBytes(text).Concat(body).ToArray();
        return new FuzzRequest(index, $"{method} {@base}{(shape.Count > 0 ? " " + string.Join(",", shape) : "")}", bytes);
    }

    private static string RandomToken(Random random, int min, int max)
    {
        const string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%+/=";
        var length = random.Next(min, max + 1);
        var token = new char[length];
        for (var i = 0; i < length; i++)
        {
            token[i] = chars[random.Next(chars.Length)];
        }

        return new string(token);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
