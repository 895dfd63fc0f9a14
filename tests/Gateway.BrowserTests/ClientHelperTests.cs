using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using WebexGateway.Events;
using WebexGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using static WebexGateway.BrowserTests.DemoPage;

namespace WebexGateway.BrowserTests;

/// <summary><c>/webex-gateway.js</c> as a frontend imports it: the README's example, run in Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ClientHelperTests(RedisFixture redis, ChromiumFixture chromium)
{
    [SkippableFact]
    public async Task Paginate_follows_the_links_and_yields_every_room()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-paginate");
        await demo.SignInAsync();

        var result = await demo.Page.EvaluateAsync<JsonElement>("""
            async () => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              const webex = createWebexGateway();
              const ids = [];
              for await (const room of webex.paginate('/v1/rooms?max=7')) ids.push(room.id);
              const me = await webex.user();
              const message = await webex.postJson('/v1/messages', { roomId: ids[0], text: 'from the helper' });
              const raw = await webex.fetch('/v1/people/me');
              return { ids, user: me.displayName, text: message.text, status: raw.status };
            }
            """);

        var ids = result.GetProperty("ids").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(demo.World.Webex.RoomIdsFor(demo.Person.Id).Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        Assert.Equal(4, demo.World.Webex.Requests.Count(r => r.RawTarget.StartsWith("/v1/rooms?max=7", StringComparison.Ordinal))); // 7 + 7 + 7 + 4
        Assert.Equal(demo.Person.DisplayName, result.GetProperty("user").GetString());
        Assert.Equal("from the helper", result.GetProperty("text").GetString());
        Assert.Equal(200, result.GetProperty("status").GetInt32());
        demo.AssertNoPageErrors();
    }

    [SkippableFact]
    public async Task Without_a_session_calls_hand_the_login_url_to_onLoginRequired()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-login-required");
        await demo.Page.GotoAsync("/");
        await Expect(demo.Id("sign-in")).ToBeVisibleAsync();

        var result = await demo.Page.EvaluateAsync<JsonElement>("""
            async () => {
              const { createWebexGateway, WebexGatewayError } = await import('/webex-gateway.js');
              const seen = [];
              const webex = createWebexGateway({ onLoginRequired: url => seen.push(url) });
              let error;
              try { await webex.fetch('/v1/rooms'); } catch (e) { error = e; }
              return {
                user: await webex.user(),
                seen,
                code: error && error.code,
                isGatewayError: error instanceof WebexGatewayError,
              };
            }
            """);

        Assert.Equal(JsonValueKind.Null, result.GetProperty("user").ValueKind);
        Assert.Equal("/auth/login?returnUrl=%2F", Assert.Single(result.GetProperty("seen").EnumerateArray()).GetString());
        Assert.Equal("login_required", result.GetProperty("code").GetString());
        Assert.True(result.GetProperty("isGatewayError").GetBoolean());
        Assert.Empty(demo.World.Webex.Requests);
        demo.AssertNoPageErrors();
    }

    /// <summary>
    /// A 401 whose <c>loginUrl</c> leads off the gateway (a hostile proxy, a compromised upstream): the helper refuses it
    /// with a clear error and neither navigates there nor runs it. The answer is the gateway's real 401, its loginUrl replaced.
    /// </summary>
    [SkippableTheory]
    [InlineData("javascript:alert(1)")]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example/")]
    [InlineData("/\t/evil.example/")]
    [InlineData("data:text/html,<script>alert(1)</script>")]
    public async Task A_login_url_off_the_gateway_is_refused_and_never_navigated_to(string loginUrl)
    {
        await using var demo = await StartAsync(redis, chromium, "helper-hostile-login-url");
        var offGateway = await WatchOffGatewayAsync(demo);
        await demo.Page.GotoAsync("/");
        await Expect(demo.Id("sign-in")).ToBeVisibleAsync();
        var page = demo.Page.Url;
        await demo.Page.RouteAsync(url => new Uri(url).AbsolutePath == "/webex/v1/rooms", async route =>
        {
            var response = await route.FetchAsync();
            var body = JsonNode.Parse(await response.TextAsync())!.AsObject();
            body["loginUrl"] = loginUrl;
            await route.FulfillAsync(new() { Response = response, Body = body.ToJsonString() });
        });

        // The default onLoginRequired: the page would go to loginUrl.
        var result = await demo.Page.EvaluateAsync<JsonElement>("""
            async () => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              try { await createWebexGateway().fetch('/v1/rooms'); } catch (e) { return { code: e.code, message: e.message }; }
              return { code: null };
            }
            """);
        // Whatever the page was told to do has started by now: one more round trip through it.
        await demo.Page.EvaluateAsync("() => fetch('/auth/user').then(r => r.status)");

        Assert.Equal("unsafe_url", result.GetProperty("code").GetString());
        Assert.Contains("leads off the gateway", result.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(page, demo.Page.Url);
        Assert.Empty(offGateway);
        demo.AssertNoPageErrors();
    }

    /// <summary>A page whose next-page Link leads off the gateway is refused with a clear error; the link is never fetched.</summary>
    [SkippableTheory]
    [InlineData("https://evil.example/webex/v1/rooms?max=7&cursor=x")]
    [InlineData("//evil.example/webex/v1/rooms?max=7&cursor=x")]
    [InlineData("/\\evil.example/webex/v1/rooms?max=7&cursor=x")]
    [InlineData("javascript:alert(1)")]
    public async Task A_next_link_off_the_gateway_is_refused_and_never_followed(string target)
    {
        await using var demo = await StartAsync(redis, chromium, "helper-hostile-link");
        await demo.SignInAsync();
        var offGateway = await WatchOffGatewayAsync(demo);
        await RewriteFirstRoomsLinkAsync(demo, _ => target);

        var result = await PaginateAsync(demo);

        Assert.Equal("unsafe_url", result.GetProperty("code").GetString());
        Assert.Contains("leads off the gateway", result.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, result.GetProperty("ids").GetArrayLength()); // the tampered answer is refused whole
        Assert.Single(demo.World.Webex.Requests, r => r.RawTarget.StartsWith("/v1/rooms?max=7", StringComparison.Ordinal));
        Assert.Empty(offGateway);
        demo.AssertNoPageErrors();
    }

    /// <summary>An absolute Link to the gateway's own origin is followed like a path.</summary>
    [SkippableFact]
    public async Task A_next_link_absolute_to_the_gateway_is_followed()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-absolute-link");
        await demo.SignInAsync();
        await RewriteFirstRoomsLinkAsync(demo, path => new Uri(demo.Gateway.Address, path).ToString());

        var result = await PaginateAsync(demo);

        Assert.Equal(JsonValueKind.Null, result.GetProperty("code").ValueKind);
        Assert.Equal(demo.World.Webex.RoomIdsFor(demo.Person.Id).Count, result.GetProperty("ids").GetArrayLength());
        demo.AssertNoPageErrors();
    }

    /// <summary>
    /// upload() sends a file with progress and resolves to the created message; contentUrl() turns its Webex contents URL
    /// into the gateway's path; download() waits out one 423 Locked (Webex scanning the file) and gives up on a second.
    /// </summary>
    [SkippableFact]
    public async Task Upload_then_download_waits_out_one_423_locked()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-files");
        await demo.SignInAsync();
        var roomId = demo.World.Webex.RoomIdsFor(demo.Person.Id)[3];

        var sent = await demo.Page.EvaluateAsync<JsonElement>("""
            async roomId => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              const webex = createWebexGateway();
              const bytes = new Uint8Array(200000).map((_, i) => (i * 7) % 251);
              const progress = [];
              const message = await webex.upload(roomId, new File([bytes], 'notes.bin', { type: 'application/octet-stream' }),
                { text: 'the notes', onProgress: p => progress.push(p) });
              return { message, path: webex.contentUrl(message.files[0]), last: progress[progress.length - 1] };
            }
            """, roomId);

        var message = sent.GetProperty("message");
        Assert.Equal("the notes", message.GetProperty("text").GetString());
        Assert.Equal(roomId, message.GetProperty("roomId").GetString());
        var path = sent.GetProperty("path").GetString()!;
        Assert.Matches("^/webex/v1/contents/[^/]+$", path);
        var last = sent.GetProperty("last");
        Assert.True(last.GetProperty("total").GetInt64() >= 200_000);
        Assert.Equal(last.GetProperty("total").GetInt64(), last.GetProperty("loaded").GetInt64());
        var contentId = Uri.UnescapeDataString(path.Split('/')[^1]);
        Assert.Equal(200_000, demo.World.Webex.Content(contentId)!.Length);

        // Each download goes to the network: the browser may otherwise answer the second from its HTTP cache, heuristically
        // fresh for a moment after the first (the file has a Last-Modified and no Cache-Control), and never see the 423.
        demo.World.Webex.LockContent(contentId, 1, 1);
        var gets = ContentGets(demo, contentId);
        var started = DateTimeOffset.UtcNow;
        var read = await demo.Page.EvaluateAsync<JsonElement>("""
            async url => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              const response = await createWebexGateway().download(url, { cache: 'no-store' });
              const bytes = new Uint8Array(await response.arrayBuffer());
              return { length: bytes.length, same: bytes.every((b, i) => b === (i * 7) % 251) };
            }
            """, message.GetProperty("files")[0].GetString());
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(1), "the retry came before Retry-After");
        Assert.Equal(200_000, read.GetProperty("length").GetInt32());
        Assert.True(read.GetProperty("same").GetBoolean());
        Assert.Equal(gets + 2, ContentGets(demo, contentId)); // 423, then 200

        demo.World.Webex.LockContent(contentId, 2, 1);
        var refused = await demo.Page.EvaluateAsync<JsonElement>("""
            async path => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              try { await createWebexGateway().download(path, { cache: 'no-store' }); } catch (e) { return { status: e.status, name: e.name }; }
              return { status: 0 };
            }
            """, path);
        Assert.Equal(423, refused.GetProperty("status").GetInt32());
        Assert.Equal("WebexGatewayError", refused.GetProperty("name").GetString());
        Assert.Equal(gets + 4, ContentGets(demo, contentId)); // once retried, never more
        demo.AssertNoPageErrors();
    }

    /// <summary>
    /// A file whose message is above the gateway's upload limit (<c>Gateway:MaxUploadBytes</c> plus the allowance for the
    /// other fields): the gateway answers 413 from the Content-Length, before reading the body, and closes the
    /// connection while the browser is still sending; upload() still rejects with that 413 and its JSON, and Webex is
    /// never called. A file under the limit then goes through.
    /// </summary>
    [SkippableFact]
    public async Task Upload_above_the_limit_rejects_with_413_payload_too_large_and_webex_is_never_called()
    {
        const int maxUploadBytes = 65_536;
        await using var demo = await StartAsync(redis, chromium, "helper-upload-limit",
            new Dictionary<string, string?> { ["Gateway:MaxUploadBytes"] = maxUploadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await demo.SignInAsync();
        var roomId = demo.World.Webex.RoomIdsFor(demo.Person.Id)[1];
        var tooLarge = maxUploadBytes + (int)WebexGateway.Proxy.BodySizeLimits.FormFieldsAllowance + 8_000_000;
        var before = demo.World.Webex.Requests.Count;

        var refused = await UploadAsync(demo, roomId, tooLarge);

        Assert.Equal(413, refused.GetProperty("status").GetInt32());
        Assert.Equal("payload_too_large", refused.GetProperty("code").GetString());
        Assert.Equal("WebexGatewayError", refused.GetProperty("name").GetString());
        Assert.Equal("payload_too_large", refused.GetProperty("body").GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(refused.GetProperty("message").GetString()));
        Assert.Empty(demo.World.Webex.Requests.Skip(before));

        var sent = await UploadAsync(demo, roomId, maxUploadBytes - 1000);

        Assert.Equal(JsonValueKind.Null, sent.GetProperty("status").ValueKind);
        Assert.Equal(roomId, sent.GetProperty("message").GetProperty("roomId").GetString());
        var post = Assert.Single(demo.World.Webex.Requests.Skip(before), r => r.Method == "POST" && r.RawTarget == "/v1/messages");
        Assert.Contains(post.Headers, h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
            && h.Value.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase));
        var contentId = Uri.UnescapeDataString(sent.GetProperty("path").GetString()!.Split('/')[^1]);
        Assert.Equal(maxUploadBytes - 1000, demo.World.Webex.Content(contentId)!.Length);
        demo.AssertNoPageErrors();
    }

    /// <summary>upload() of a file of <paramref name="size"/> bytes: the created message, or the error it rejected with.</summary>
    private static Task<JsonElement> UploadAsync(DemoPage demo, string roomId, int size) => demo.Page.EvaluateAsync<JsonElement>("""
        async ([roomId, size]) => {
          const { createWebexGateway } = await import('/webex-gateway.js');
          const webex = createWebexGateway();
          const file = new File([new Uint8Array(size).fill(42)], 'big.bin', { type: 'application/octet-stream' });
          try {
            const message = await webex.upload(roomId, file, { text: 'a file' });
            return { status: null, message, path: webex.contentUrl(message.files[0]) };
          } catch (e) {
            return { status: e.status, code: e.code ?? null, name: e.name, message: e.message, body: e.body ?? null };
          }
        }
        """, new object[] { roomId, size });

    /// <summary>
    /// events() as callbacks and as an async iterator, two streams at once: each gets every event, in order, shaped as the
    /// README says; a sign-out (here by another client of the same session) ends both with session_ended, and neither
    /// opens the stream again.
    /// </summary>
    [SkippableFact]
    public async Task Events_reach_callbacks_and_the_async_iterator_and_session_ended_stops_them_for_good()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-events");
        await demo.SignInAsync();
        var streams = CountEventStreamRequests(demo);

        await demo.Page.EvaluateAsync("""
            async () => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              const webex = createWebexGateway();
              const seen = window.seen = { callback: [], iterated: [], ended: 0, opened: 0, iteration: 'running' };
              window.live = webex.events({
                onEvent: event => seen.callback.push(event),
                onSessionEnded: () => seen.ended++,
                onOpen: () => seen.opened++,
              });
              window.iterated = webex.events({ onOpen: () => seen.opened++ });
              (async () => {
                try {
                  for await (const event of window.iterated) seen.iterated.push(event);
                  seen.iteration = 'ended';
                } catch (e) {
                  seen.iteration = `threw ${e.code}`;
                }
              })();
            }
            """);
        await demo.Page.WaitForFunctionAsync("() => window.seen.opened === 2");

        await AppendEventAsync(demo, "event-1", "messages", "created", """{"id":"message-1","roomId":"room-1"}""");
        await AppendEventAsync(demo, "event-2", "messages", "deleted", """{"id":"message-1","roomId":"room-1"}""");
        await demo.Page.WaitForFunctionAsync("() => window.seen.callback.length === 2 && window.seen.iterated.length === 2");

        var seen = await demo.Page.EvaluateAsync<JsonElement>("() => window.seen");
        foreach (var list in new[] { "callback", "iterated" })
        {
            var events = seen.GetProperty(list).EnumerateArray().ToList();
            Assert.Equal(["messages.created", "messages.deleted"], events.Select(e => e.GetProperty("type").GetString()));
            Assert.Equal(["1", "2"], events.Select(e => e.GetProperty("id").GetString()));
            Assert.Equal(["created", "deleted"], events.Select(e => e.GetProperty("event").GetString()));
            Assert.All(events, e => Assert.Equal("messages", e.GetProperty("resource").GetString()));
            Assert.All(events, e => Assert.Equal("actor-1", e.GetProperty("actorId").GetString()));
            Assert.All(events, e => Assert.Equal("2026-12-04T10:00:00.000Z", e.GetProperty("created").GetString()));
            Assert.All(events, e => Assert.Equal("message-1", e.GetProperty("data").GetProperty("id").GetString()));
        }

        Assert.Equal(2, streams.Count);
        var logout = await demo.Page.APIRequest.PostAsync("/auth/logout", new() { Headers = new Dictionary<string, string> { ["X-CSRF"] = "1" } });
        Assert.True(logout.Ok, $"logout answered {logout.Status}");

        await demo.Page.WaitForFunctionAsync("() => window.seen.ended === 1 && window.seen.iteration === 'ended'");
        Assert.Equal("session_ended", await demo.Page.EvaluateAsync<string>("() => window.live.closed"));
        Assert.Equal("session_ended", await demo.Page.EvaluateAsync<string>("() => window.iterated.closed"));
        Assert.Equal("closed", await demo.Page.EvaluateAsync<string>("() => window.live.state"));
        // The gateway asks for a reconnection after 3 s: a stream that went on would be asked for again by then.
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.Equal(2, streams.Count);
        Assert.Equal(1, await demo.Page.EvaluateAsync<int>("() => window.seen.ended"));
        demo.AssertNoPageErrors();
    }

    /// <summary>
    /// A stream the gateway refuses is told to onError once, with the gateway's status and error, and not asked for again:
    /// 401 login_required without a session (the page stays where it is), 429 too_many_streams beyond
    /// Gateway:Events:MaxStreamsPerPerson (the open stream is not disturbed).
    /// </summary>
    [SkippableFact]
    public async Task A_refused_stream_is_surfaced_to_on_error_and_not_retried()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-events-refused",
            new Dictionary<string, string?> { ["Gateway:Events:MaxStreamsPerPerson"] = "1" });
        await demo.Page.GotoAsync("/");
        await Expect(demo.Id("sign-in")).ToBeVisibleAsync();
        var page = demo.Page.Url;
        var streams = CountEventStreamRequests(demo);

        var signedOut = await OpenRefusedStreamAsync(demo);

        Assert.Equal(401, signedOut.GetProperty("status").GetInt32());
        Assert.Equal("login_required", signedOut.GetProperty("code").GetString());
        Assert.StartsWith("/auth/login", signedOut.GetProperty("loginUrl").GetString(), StringComparison.Ordinal);
        Assert.Equal("error", signedOut.GetProperty("closed").GetString());
        Assert.Equal(1, signedOut.GetProperty("errors").GetInt32());
        Assert.Equal(page, demo.Page.Url);
        var afterRefusal = streams.Count; // the EventSource's request and one more to read why
        Assert.InRange(afterRefusal, 1, 2);

        await demo.SignInAsync();
        await demo.Page.EvaluateAsync("""
            async () => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              window.first = createWebexGateway().events({ onOpen: () => { window.firstOpen = true; } });
            }
            """);
        await demo.Page.WaitForFunctionAsync("() => window.firstOpen === true");
        var beforeSecond = streams.Count;

        var tooMany = await OpenRefusedStreamAsync(demo);

        Assert.Equal(429, tooMany.GetProperty("status").GetInt32());
        Assert.Equal("too_many_streams", tooMany.GetProperty("code").GetString());
        Assert.Equal(15, tooMany.GetProperty("retryAfter").GetInt32());
        Assert.Equal(1, tooMany.GetProperty("errors").GetInt32());
        Assert.Equal("open", await demo.Page.EvaluateAsync<string>("() => window.first.state"));
        var afterSecond = streams.Count;
        Assert.InRange(afterSecond - beforeSecond, 1, 2);

        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.Equal(afterSecond, streams.Count);
        Assert.Equal(1, await demo.Page.EvaluateAsync<int>("() => window.refused.errors"));
        Assert.Equal("open", await demo.Page.EvaluateAsync<string>("() => window.first.state"));
        demo.AssertNoPageErrors();
    }

    /// <summary>events() with only onError: resolves once it has stopped, with what onError was given and what the handle says.</summary>
    private static Task<JsonElement> OpenRefusedStreamAsync(DemoPage demo) => demo.Page.EvaluateAsync<JsonElement>("""
        async () => {
          const { createWebexGateway } = await import('/webex-gateway.js');
          const refused = window.refused = { errors: 0 };
          const handle = createWebexGateway({ onLoginRequired: () => { refused.navigated = true; } }).events({
            onError: e => {
              refused.errors++;
              Object.assign(refused, { status: e.status, code: e.code, retryAfter: e.retryAfter, loginUrl: e.loginUrl ?? null });
            },
          });
          refused.closed = await handle.closed;
          return refused;
        }
        """);

    private static Task<bool> AppendEventAsync(DemoPage demo, string id, string resource, string @event, string data) =>
        demo.Gateway.Services.GetRequiredService<PersonEvents>().AppendAsync(
            new WebexEvent(demo.Person.Id, id, resource, @event, "actor-1", "2026-12-04T10:00:00.000Z", JsonDocument.Parse(data).RootElement));

    /// <summary>The requests the page's contexts make for <c>/events</c>, counted as they go.</summary>
    private static ConcurrentQueue<string> CountEventStreamRequests(DemoPage demo)
    {
        var seen = new ConcurrentQueue<string>();
        demo.Page.Context.Request += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath == "/events")
            {
                seen.Enqueue(request.ResourceType);
            }
        };
        return seen;
    }

    [SkippableFact]
    public async Task Content_url_maps_webex_contents_to_the_gateway_and_refuses_other_sites()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-content-url");
        await demo.Page.GotoAsync("/");
        var cases = new Dictionary<string, string>
        {
            ["https://webexapis.com/v1/contents/Y2lzY29zcGFyazovL3VzL0NPTlRFTlQvYWJj"] = "/webex/v1/contents/Y2lzY29zcGFyazovL3VzL0NPTlRFTlQvYWJj",
            ["https://webexapis.com/v1/contents/abc?allow=dlpUnchecked"] = "/webex/v1/contents/abc?allow=dlpUnchecked",
            [demo.World.Emulator.BaseUrl.ToString().TrimEnd('/') + "/v1/contents/a%2Bb"] = "/webex/v1/contents/a%2Bb",
            ["/webex/v1/contents/abc"] = "/webex/v1/contents/abc",
            ["https://evil.example/file.png"] = "unsafe_url",
            ["//evil.example/v1/contents/abc"] = "unsafe_url",
            ["javascript:alert(1)"] = "unsafe_url",
        };

        var results = await demo.Page.EvaluateAsync<Dictionary<string, string>>("""
            async urls => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              const webex = createWebexGateway();
              const results = {};
              for (const url of urls) {
                try { results[url] = webex.contentUrl(url); } catch (e) { results[url] = e.code; }
              }
              return results;
            }
            """, cases.Keys.ToArray());

        Assert.Equal(cases, results);
        demo.AssertNoPageErrors();
    }

    /// <summary>Webex answers a GET 429 twice (Retry-After: 1): the helper waits each time and the third call succeeds.</summary>
    [SkippableFact]
    public async Task A_get_answered_429_twice_then_200_succeeds()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-429-twice");
        await demo.SignInAsync();
        demo.World.Webex.RateLimit(demo.Person.Id, "v1/rooms", "1", times: 2);
        var started = DateTimeOffset.UtcNow;

        var result = await RoomsWithRateLimitAsync(demo);

        Assert.Equal(JsonValueKind.Null, result.GetProperty("error").ValueKind);
        Assert.Equal(3, result.GetProperty("rooms").GetInt32());
        Assert.Equal(0, result.GetProperty("rateLimited").GetArrayLength());
        Assert.Equal(3, demo.World.Webex.Requests.Count(r => r.RawTarget == "/v1/rooms?max=3"));
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(2), "a retry came before Retry-After");
        demo.AssertNoPageErrors();
    }

    /// <summary>Webex keeps answering 429: after two retries the call fails with the 429 and onRateLimited is told once.</summary>
    [SkippableFact]
    public async Task A_persistent_429_calls_on_rate_limited()
    {
        await using var demo = await StartAsync(redis, chromium, "helper-429-persistent");
        await demo.SignInAsync();
        demo.World.Webex.RateLimit(demo.Person.Id, "v1/rooms", "1", times: 10);

        var result = await RoomsWithRateLimitAsync(demo);

        Assert.Equal(429, result.GetProperty("error").GetProperty("status").GetInt32());
        var told = Assert.Single(result.GetProperty("rateLimited").EnumerateArray());
        Assert.Equal(429, told.GetProperty("status").GetInt32());
        Assert.Equal(1, told.GetProperty("retryAfter").GetInt32());
        Assert.EndsWith("/webex/v1/rooms?max=3", told.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, demo.World.Webex.Requests.Count(r => r.RawTarget == "/v1/rooms?max=3"));
        demo.AssertNoPageErrors();
    }

    private static Task<JsonElement> RoomsWithRateLimitAsync(DemoPage demo) => demo.Page.EvaluateAsync<JsonElement>("""
        async () => {
          const { createWebexGateway } = await import('/webex-gateway.js');
          const rateLimited = [];
          const webex = createWebexGateway({ onRateLimited: info => rateLimited.push(info) });
          try {
            const body = await webex.getJson('/v1/rooms?max=3');
            return { rooms: body.items.length, rateLimited, error: null };
          } catch (e) {
            return { rateLimited, error: { status: e.status, code: e.code ?? null } };
          }
        }
        """);

    private static int ContentGets(DemoPage demo, string contentId) => demo.World.Webex.Requests.Count(r =>
        r.Method == "GET" && r.RawTarget.StartsWith("/v1/contents/", StringComparison.Ordinal)
        && Uri.UnescapeDataString(r.RawTarget["/v1/contents/".Length..]) == contentId);

    /// <summary>Requests the page makes to anywhere but the gateway, and dialogs it opens; evil.example is never reached.</summary>
    private static async Task<ConcurrentQueue<string>> WatchOffGatewayAsync(DemoPage demo)
    {
        var seen = new ConcurrentQueue<string>();
        var origin = demo.Gateway.Address.GetLeftPart(UriPartial.Authority);
        demo.Page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(origin + "/", StringComparison.Ordinal))
            {
                seen.Enqueue($"request {request.Url}");
            }
        };
        demo.Page.Dialog += (_, dialog) =>
        {
            seen.Enqueue($"dialog {dialog.Message}");
            _ = dialog.DismissAsync();
        };
        await demo.Page.Context.RouteAsync(url => !url.StartsWith(origin + "/", StringComparison.Ordinal), route => route.AbortAsync());
        return seen;
    }

    /// <summary>The gateway's real answer to the first rooms page, its next link replaced by <paramref name="rewrite"/>(the real one).</summary>
    private static Task RewriteFirstRoomsLinkAsync(DemoPage demo, Func<string, string> rewrite) =>
        demo.Page.RouteAsync(url => new Uri(url).PathAndQuery == "/webex/v1/rooms?max=7", async route =>
        {
            var response = await route.FetchAsync();
            var headers = new Dictionary<string, string>(response.Headers);
            var next = System.Text.RegularExpressions.Regex.Match(headers["link"], "<([^>]*)>").Groups[1].Value;
            headers["link"] = $"<{rewrite(next)}>; rel=\"next\"";
            await route.FulfillAsync(new() { Response = response, Headers = headers });
        });

    private static Task<JsonElement> PaginateAsync(DemoPage demo) => demo.Page.EvaluateAsync<JsonElement>("""
        async () => {
          const { createWebexGateway } = await import('/webex-gateway.js');
          const ids = [];
          try {
            for await (const room of createWebexGateway().paginate('/v1/rooms?max=7')) ids.push(room.id);
          } catch (e) {
            return { ids, code: e.code ?? 'no code', message: e.message };
          }
          return { ids, code: null };
        }
        """);
}
