using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
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
