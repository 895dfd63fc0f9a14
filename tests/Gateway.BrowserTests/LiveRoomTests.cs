using System.Diagnostics;
using Microsoft.Playwright;
using WebexGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using static WebexGateway.BrowserTests.DemoPage;

namespace WebexGateway.BrowserTests;

/// <summary>
/// The demo app's open room, live, end to end: the emulator posts signed webhooks to the gateway (at its
/// <c>Gateway:PublicUrl</c>), the gateway streams them on <c>/events</c>, and <c>webex-gateway.js</c>'s events() shows
/// them in two people's browsers, each in a browser context of their own.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class LiveRoomTests(RedisFixture redis, ChromiumFixture chromium)
{
    /// <summary>How soon a message posted by one person is on the other's screen.</summary>
    private static readonly TimeSpan Live = TimeSpan.FromSeconds(2);

    [SkippableFact]
    public async Task Two_people_in_one_room_see_each_others_messages_without_reloading_and_a_sign_out_ends_the_other_tabs_stream()
    {
        await using var ada = await StartAsync(redis, chromium, "live-ada", emulator: options =>
        {
            options.RoomCount = 4;
            options.AddGeneratedPeople(1);
        }, liveEvents: true);
        await ada.SignInAsync(rooms: 4);
        await using var grace = await ada.AddPersonAsync(chromium.Browser, ada.World.Webex.People[1], "live-grace");
        await grace.SignInAsync(rooms: 4);
        await Expect(ada.Id("live-status")).ToHaveTextAsync("Live updates on");
        await Expect(grace.Id("live-status")).ToHaveTextAsync("Live updates on");
        await WebhooksMadeAsync(ada);
        await WebhooksMadeAsync(grace);

        // Ada adds Grace to one of her group rooms; both open it.
        var room = ada.Rooms.Filter(new() { Has = ada.Page.Locator(".type", new() { HasTextString = "group" }) }).First;
        var roomId = (await room.GetAttributeAsync("data-room-id"))!;
        var title = (await room.Locator(".title").TextContentAsync())!;
        await ada.Page.EvaluateAsync("""
            async ([roomId, personEmail]) => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              await createWebexGateway().postJson('/v1/memberships', { roomId, personEmail });
            }
            """, new[] { roomId, grace.Person.Email });
        await OpenRoomAsync(ada, roomId, title);
        await grace.Id("load-rooms").ClickAsync();
        await Expect(grace.Rooms).ToHaveCountAsync(5);
        await OpenRoomAsync(grace, roomId, title);
        var graceNavigations = CountNavigations(grace);
        var adaNavigations = CountNavigations(ada);

        // Ada posts: Grace sees it without reloading.
        var sent = await PostAsync(ada, "Grace, the review moved to 3 pm", grace);
        await grace.ScreenshotAsync("message-arrived");

        // Grace answers: Ada sees it.
        await PostAsync(grace, "Thanks Ada, see you then", ada);
        await Expect(grace.Page.Locator("#messages li")).ToHaveCountAsync(2); // her own, once: the event did not add it twice

        // Ada deletes hers: it goes from Grace's screen.
        await ada.Page.EvaluateAsync("""
            async id => {
              const { createWebexGateway } = await import('/webex-gateway.js');
              const response = await createWebexGateway().fetch(`/v1/messages/${encodeURIComponent(id)}`, { method: 'DELETE' });
              if (response.status !== 204) throw new Error(`DELETE answered ${response.status}`);
            }
            """, sent);
        await Expect(grace.Page.Locator($"#messages li[data-message-id='{sent}']")).ToHaveCountAsync(0, new() { Timeout = (float)Live.TotalMilliseconds });
        await Expect(grace.Page.Locator("#messages li")).ToHaveCountAsync(1);
        Assert.Empty(graceNavigations);
        Assert.Empty(adaNavigations);

        // Grace signs out in another tab: the open one is told, through its stream, and says so.
        var streamRequests = 0;
        grace.Page.Request += (_, request) => streamRequests += new Uri(request.Url).AbsolutePath == "/events" ? 1 : 0;
        var tab = await grace.Page.Context.NewPageAsync();
        await tab.GotoAsync("/");
        await Expect(tab.Locator("#name")).ToHaveTextAsync(grace.Person.DisplayName);
        await tab.Locator("#sign-out").ClickAsync();
        await Expect(tab.Locator("#sign-in")).ToBeVisibleAsync();

        await Expect(grace.Id("info")).ToContainTextAsync("Your session has ended");
        await Expect(grace.Id("sign-in")).ToBeVisibleAsync();
        await Expect(grace.Id("signed-in")).ToBeHiddenAsync();
        await Expect(grace.Id("live-status")).ToHaveAttributeAsync("data-state", "off");
        await Expect(grace.Id("error")).ToBeHiddenAsync();
        Assert.Empty(graceNavigations);
        Assert.Equal(0, streamRequests); // session_ended, not a reconnection refused with 401
        await grace.ScreenshotAsync("session-ended");

        // Ada's stream is hers, and goes on.
        await Expect(ada.Id("live-status")).ToHaveTextAsync("Live updates on");
        await Expect(ada.Id("error")).ToBeHiddenAsync();
        ada.AssertNoPageErrors();
        grace.AssertNoPageErrors();
    }

    /// <summary>
    /// <paramref name="from"/> posts <paramref name="text"/> with the demo's form; it is on <paramref name="to"/>'s screen,
    /// at the top of the open room, within <see cref="Live"/>. Returns the message's id.
    /// </summary>
    private static async Task<string> PostAsync(DemoPage from, string text, DemoPage to)
    {
        await from.Id("message-text").FillAsync(text);
        var clock = Stopwatch.StartNew();
        await from.Id("send").ClickAsync();
        var arrived = to.Page.Locator("#messages li").First.Locator(".text");
        await Expect(arrived).ToHaveTextAsync(text, new() { Timeout = (float)Live.TotalMilliseconds });
        Assert.True(clock.Elapsed < Live, $"the message took {clock.Elapsed.TotalMilliseconds:0} ms to show");
        await Expect(from.Id("sent-text")).ToHaveTextAsync(text);
        var id = (await from.Id("sent-id").TextContentAsync())!;
        await Expect(to.Page.Locator("#messages li").First).ToHaveAttributeAsync("data-message-id", id);
        return id;
    }

    private static async Task OpenRoomAsync(DemoPage demo, string roomId, string title)
    {
        await demo.Page.Locator($"#room-list li[data-room-id='{roomId}']").ClickAsync();
        await Expect(demo.Id("room-select")).ToHaveValueAsync(roomId);
        await Expect(demo.Id("messages-room")).ToContainTextAsync(title);
    }

    /// <summary>The gateway makes the person's webhooks after the sign-in, in the background: waits for all four.</summary>
    private static async Task WebhooksMadeAsync(DemoPage demo)
    {
        var deadline = Stopwatch.StartNew();
        while (demo.World.Webex.WebhooksOf(demo.Person.Id).Count(w => w.Status == "active") < 4)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"{demo.Person.DisplayName} has no webhooks after 15 s");
            await Task.Delay(50);
        }
    }

    private static List<string> CountNavigations(DemoPage demo)
    {
        var navigations = new List<string>();
        demo.Page.FrameNavigated += (_, frame) =>
        {
            if (frame == demo.Page.MainFrame)
            {
                lock (navigations)
                {
                    navigations.Add(frame.Url);
                }
            }
        };
        return navigations;
    }
}
