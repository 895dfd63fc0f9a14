using System.Net;
using Microsoft.Playwright;
using WebexGateway.Auth;
using WebexGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using static WebexGateway.BrowserTests.DemoPage;

namespace WebexGateway.BrowserTests;

/// <summary>
/// The demo app at <c>/</c> in headless Chromium, against the gateway on Kestrel and the Webex emulator's consent page:
/// what a user sees, step by step, with a screenshot of each step in the test output's <c>screenshots/</c>.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DemoAppTests(RedisFixture redis, ChromiumFixture chromium)
{
    [SkippableFact]
    public async Task Signing_in_through_the_consent_page_shows_the_user_and_the_grant()
    {
        await using var demo = await StartAsync(redis, chromium, "sign-in");

        await demo.SignInAsync();

        await Expect(demo.Id("avatar")).ToHaveTextAsync("AL"); // Ada Lovelace
        await Expect(demo.Id("email")).ToHaveTextAsync(demo.Person.Email);
        await Expect(demo.Id("scopes").Locator("li")).ToHaveTextAsync(["spark:people_read", "spark:rooms_read", "spark:messages_write"]);
        await Expect(demo.Id("expires")).ToHaveAttributeAsync("datetime", Text(@"^\d{4}-\d\d-\d\dT"));
        await Expect(demo.Id("sign-in")).ToBeHiddenAsync();
        await Expect(demo.Id("error")).ToBeHiddenAsync();
        // No Gateway:PublicUrl here: no webhooks, so the page says live updates are off rather than wait for none.
        await Expect(demo.Id("live-status")).ToHaveTextAsync(Text("^Live updates are off: this gateway has no public URL"));
        await demo.ScreenshotAsync("signed-in");

        // The browser holds the gateway's session cookie and nothing from Webex.
        var cookies = await demo.Page.Context.CookiesAsync();
        Assert.Contains(cookies, c => c.Name == AuthExtensions.SessionCookieName && c.HttpOnly);
        Assert.DoesNotContain(cookies, c => demo.World.Webex.IssuedSecrets.Any(secret => c.Value.Contains(secret, StringComparison.Ordinal)));
        Assert.Equal(1, demo.World.Webex.CodeExchangesFor(demo.Person.Id));
        demo.AssertNoPageErrors();
    }

    [SkippableFact]
    public async Task Rooms_page_through_the_rewritten_links()
    {
        await using var demo = await StartAsync(redis, chromium, "rooms");
        await demo.SignInAsync();

        var seen = new List<string>();
        foreach (var (page, count, last) in new[] { (1, 10, false), (2, 10, false), (3, 5, true) })
        {
            if (page > 1)
            {
                await demo.Id("next-page").ClickAsync();
            }

            await Expect(demo.Id("page-info")).ToHaveTextAsync($"Page {page}: {count} rooms{(last ? " (last page)" : "")}");
            await Expect(demo.Rooms).ToHaveCountAsync(count);
            if (last)
            {
                await Expect(demo.Id("next-page")).ToBeHiddenAsync();
            }
            else
            {
                await Expect(demo.Id("next-page")).ToBeVisibleAsync();
            }

            await demo.ScreenshotAsync($"rooms-page-{page}");
            foreach (var room in await demo.Rooms.AllAsync())
            {
                seen.Add((await room.GetAttributeAsync("data-room-id"))!);
            }
        }

        // Every room once, all of them: the Link headers the page followed pointed at the gateway's /webex/.
        Assert.Equal(demo.World.Webex.RoomIdsFor(demo.Person.Id).Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        var roomCalls = demo.World.Webex.Requests.Where(r => r.RawTarget.StartsWith("/v1/rooms", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, roomCalls.Count);
        Assert.Equal(2, roomCalls.Count(r => r.RawTarget.Contains("cursor=", StringComparison.Ordinal)));
        await Expect(demo.Id("error")).ToBeHiddenAsync();
        demo.AssertNoPageErrors();
    }

    [SkippableFact]
    public async Task Posting_a_message_shows_the_created_message()
    {
        await using var demo = await StartAsync(redis, chromium, "message");
        await demo.SignInAsync();

        var room = demo.Rooms.Nth(2);
        var roomId = (await room.GetAttributeAsync("data-room-id"))!;
        var roomTitle = await room.Locator(".title").TextContentAsync();
        await room.ClickAsync();
        await Expect(demo.Id("room-select")).ToHaveValueAsync(roomId);
        await demo.Id("message-text").FillAsync("Hello from the demo app");
        await demo.ScreenshotAsync("message-typed");
        await demo.Id("send").ClickAsync();

        await Expect(demo.Id("sent-message")).ToBeVisibleAsync();
        await Expect(demo.Id("sent-text")).ToHaveTextAsync("Hello from the demo app");
        await Expect(demo.Id("sent-room")).ToHaveTextAsync(roomTitle!);
        await Expect(demo.Id("sent-id")).ToHaveTextAsync(Text(@"^\S{20,}$"));
        await Expect(demo.Id("message-text")).ToHaveValueAsync("");
        await Expect(demo.Id("error")).ToBeHiddenAsync();
        await demo.ScreenshotAsync("message-posted");

        var post = Assert.Single(demo.World.Webex.Requests, r => r.Method == "POST" && r.RawTarget == "/v1/messages");
        var body = System.Text.Json.JsonDocument.Parse(post.Body).RootElement;
        Assert.Equal(roomId, body.GetProperty("roomId").GetString());
        Assert.Equal("Hello from the demo app", body.GetProperty("text").GetString());
        demo.AssertNoPageErrors();
    }

    [SkippableFact]
    public async Task An_expired_token_is_refreshed_without_the_user_noticing()
    {
        await using var demo = await StartAsync(redis, chromium, "expiry");
        await demo.SignInAsync();
        await demo.Id("next-page").ClickAsync();
        await Expect(demo.Id("page-info")).ToHaveTextAsync("Page 2: 10 rooms");
        var url = demo.Page.Url;
        var navigations = 0;
        demo.Page.FrameNavigated += (_, frame) => navigations += frame == demo.Page.MainFrame ? 1 : 0;
        var refreshes = demo.World.Webex.RefreshCallsFor(demo.Person.Id);

        demo.World.Webex.ExpireAccessTokens();
        await demo.Id("load-rooms").ClickAsync();

        await Expect(demo.Id("page-info")).ToHaveTextAsync("Page 1: 10 rooms");
        await Expect(demo.Rooms).ToHaveCountAsync(10);
        await Expect(demo.Id("error")).ToBeHiddenAsync();
        await Expect(demo.Id("info")).ToBeHiddenAsync();
        await Expect(demo.Id("name")).ToHaveTextAsync(demo.Person.DisplayName);
        await demo.ScreenshotAsync("rooms-after-expiry");
        Assert.Equal(url, demo.Page.Url);
        Assert.Equal(0, navigations);
        Assert.Equal(refreshes + 1, demo.World.Webex.RefreshCallsFor(demo.Person.Id));

        // Webex answered the old token 401 once; the gateway refreshed and replayed the call.
        var lastRoomCalls = demo.World.Webex.Requests.Where(r => r.RawTarget == "/v1/rooms?max=10").TakeLast(2).ToList();
        Assert.Equal(2, lastRoomCalls.Count);
        Assert.NotEqual(lastRoomCalls[0].Headers["Authorization"], lastRoomCalls[1].Headers["Authorization"]);
        demo.AssertNoPageErrors();
    }

    [SkippableFact]
    public async Task Declining_consent_shows_a_clear_message()
    {
        await using var demo = await StartAsync(redis, chromium, "declined");
        await demo.Page.GotoAsync("/");
        await Expect(demo.Id("sign-in")).ToBeVisibleAsync();
        await demo.OpenConsentPageAsync();

        var callback = demo.Page.WaitForResponseAsync(r => r.Url.Contains("/auth/callback", StringComparison.Ordinal));
        await demo.Page.GetByRole(AriaRole.Button, new() { Name = "Decline" }).ClickAsync();

        Assert.Equal((int)HttpStatusCode.Forbidden, (await callback).Status);
        await Expect(demo.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign-in cancelled" })).ToBeVisibleAsync();
        await Expect(demo.Page.Locator("body")).ToContainTextAsync("Webex access was declined");
        await Expect(demo.Page.GetByRole(AriaRole.Link, new() { Name = "Sign in again" })).ToBeVisibleAsync();
        await demo.ScreenshotAsync("declined");

        // No session came of it: the demo app still offers to sign in.
        await demo.Page.GotoAsync("/");
        await Expect(demo.Id("sign-in")).ToBeVisibleAsync();
        await Expect(demo.Id("signed-in")).ToBeHiddenAsync();
        Assert.DoesNotContain(await demo.Page.Context.CookiesAsync(), c => c.Name == AuthExtensions.SessionCookieName);
        Assert.Equal(0, demo.World.Webex.CodeExchanges);
        demo.AssertNoPageErrors();
    }

    [SkippableFact]
    public async Task Signing_out_shows_the_sign_in_button_again()
    {
        await using var demo = await StartAsync(redis, chromium, "sign-out");
        await demo.SignInAsync();

        await demo.Id("sign-out").ClickAsync();

        await Expect(demo.Id("sign-in")).ToBeVisibleAsync();
        await Expect(demo.Id("signed-in")).ToBeHiddenAsync();
        await Expect(demo.Id("info")).ToContainTextAsync("signed out");
        await Expect(demo.Id("error")).ToBeHiddenAsync();
        await demo.ScreenshotAsync("signed-out-again");

        // The session is gone at the gateway, not just on the page.
        await demo.Page.ReloadAsync();
        await Expect(demo.Id("sign-in")).ToBeVisibleAsync();
        var user = await demo.Page.APIRequest.GetAsync("/auth/user");
        Assert.Equal((int)HttpStatusCode.Unauthorized, user.Status);
        demo.AssertNoPageErrors();
    }
}
