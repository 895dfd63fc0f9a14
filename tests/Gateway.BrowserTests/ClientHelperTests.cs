using System.Text.Json;
using WebexGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using static WebexGateway.BrowserTests.DemoPage;

namespace WebexGateway.BrowserTests;

/// <summary><c>/webex-gateway.js</c> as a frontend imports it: the README's example, run in Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ClientHelperTests(RedisFixture redis, ChromiumFixture chromium)
{
    [Fact]
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

    [Fact]
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
}
