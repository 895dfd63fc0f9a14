using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Webex.Emulator;
using WebexGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace WebexGateway.BrowserTests;

/// <summary>
/// One scenario's world: the Webex emulator with its real consent page, a gateway on Kestrel at 127.0.0.1, and a fresh
/// Chromium context (its own cookies) on the gateway's demo app. Saves a full-page screenshot of each step.
/// </summary>
public sealed class DemoPage : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _pageErrors = new();
    private readonly IBrowserContext _context;
    private readonly string _scenario;
    private readonly bool _ownsWorld;
    private int _step;

    private DemoPage(TestWorld world, GatewayHost gateway, IBrowserContext context, IPage page, string scenario, EmulatorPerson person, bool ownsWorld)
    {
        World = world;
        Gateway = gateway;
        _context = context;
        Page = page;
        _scenario = scenario;
        Person = person;
        _ownsWorld = ownsWorld;
        page.PageError += (_, error) => _pageErrors.Enqueue(error);
    }

    /// <summary>The scopes a gateway with live events asks for: those of the test default and the read scopes of Webex:Events.</summary>
    public const string LiveEventScopes = "spark:people_read spark:rooms_read spark:messages_write spark:messages_read spark:memberships_read";

    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public TestWorld World { get; }

    public GatewayHost Gateway { get; }

    public IPage Page { get; }

    /// <summary>Who signs in in this page's browser context.</summary>
    public EmulatorPerson Person { get; }

    /// <summary>Skips the calling test (see <see cref="ChromiumFixture"/>) before starting anything when there is no browser.</summary>
    /// <param name="settings">The gateway's configuration beyond the test defaults.</param>
    /// <param name="emulator">The emulator's options beyond the consent page (more people, fewer rooms).</param>
    /// <param name="liveEvents">
    /// Live events end to end: the gateway also listens on a port chosen beforehand, which is its <c>Gateway:PublicUrl</c>,
    /// so the emulator's webhooks reach it; it asks for the read scopes of its <c>Webex:Events</c>.
    /// </param>
    public static async Task<DemoPage> StartAsync(RedisFixture redis, ChromiumFixture chromium, string scenario,
        IDictionary<string, string?>? settings = null, Action<WebexEmulatorOptions>? emulator = null, bool liveEvents = false)
    {
        var browser = chromium.Browser;
        SetDefaultExpectTimeout(15_000);
        var world = await TestWorld.StartAsync(redis, options =>
        {
            options.Consent = ConsentMode.Page;
            emulator?.Invoke(options);
        });
        try
        {
            if (liveEvents)
            {
                var publicUrl = $"http://127.0.0.1:{LoopbackPorts.Free()}";
                settings = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
                {
                    ["Gateway:PublicUrl"] = publicUrl,
                    ["Kestrel:Endpoints:Webhooks:Url"] = publicUrl,
                    ["Webex:Scopes"] = LiveEventScopes,
                };
            }

            var gateway = world.AddGateway(settings);
            var context = await NewContextAsync(browser, gateway);
            return new DemoPage(world, gateway, context, await context.NewPageAsync(), scenario, world.Person, ownsWorld: true);
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Another person at the same gateway, in a browser context of their own (their own cookies); disposed before the
    /// page that started the world.
    /// </summary>
    public async Task<DemoPage> AddPersonAsync(IBrowser browser, EmulatorPerson person, string scenario)
    {
        var context = await NewContextAsync(browser, Gateway);
        return new DemoPage(World, Gateway, context, await context.NewPageAsync(), scenario, person, ownsWorld: false);
    }

    private static async Task<IBrowserContext> NewContextAsync(IBrowser browser, GatewayHost gateway)
    {
        var context = await browser.NewContextAsync(new()
        {
            BaseURL = gateway.Address.ToString(),
            ViewportSize = new() { Width = 1100, Height = 900 },
            Locale = "en-US",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(20_000);
        context.SetDefaultNavigationTimeout(20_000);
        return context;
    }

    public ILocator Id(string id) => Page.Locator($"#{id}");

    public ILocator Rooms => Page.Locator("#room-list li");

    /// <summary>Saves the page as it is now: screenshots/{scenario}-{step}-{name}.png beside the test assembly.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var path = Path.Combine(ScreenshotDirectory, $"{_scenario}-{++_step:00}-{name}.png");
        await Page.ScreenshotAsync(new() { Path = path, FullPage = true });
        Assert.True(new FileInfo(path).Length > 0, $"the screenshot {path} is empty");
        return path;
    }

    /// <summary>From the demo app's sign-in button through the emulator's consent page (Accept) back to the app, signed in.</summary>
    /// <param name="rooms">How many rooms the first page of the person's rooms shows.</param>
    public async Task SignInAsync(int rooms = 10)
    {
        await Page.GotoAsync("/");
        await Expect(Id("sign-in")).ToBeVisibleAsync();
        await Expect(Id("signed-in")).ToBeHiddenAsync();
        await ScreenshotAsync("signed-out");

        await OpenConsentPageAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();

        await Expect(Page).ToHaveURLAsync(new Uri(Gateway.Address, "/").ToString());
        await Expect(Id("name")).ToHaveTextAsync(Person.DisplayName);
        await Expect(Rooms).ToHaveCountAsync(rooms);
    }

    /// <summary>Clicks "Sign in with Webex" and waits for the emulator's consent page.</summary>
    public async Task OpenConsentPageAsync()
    {
        await Id("sign-in").ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Allow access to your Webex account?" })).ToBeVisibleAsync();
        if (!string.Equals(Person.Email, World.Person.Email, StringComparison.OrdinalIgnoreCase))
        {
            // The gateway sends nobody's email along; the emulator's consent page is for its default person unless told.
            await Page.GotoAsync($"{Page.Url}&login_hint={Uri.EscapeDataString(Person.Email)}");
            await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Allow access to your Webex account?" })).ToBeVisibleAsync();
        }

        Assert.StartsWith(World.Emulator.BaseUrl.ToString().TrimEnd('/') + "/v1/authorize", Page.Url, StringComparison.Ordinal);
        await Expect(Page.Locator("#person")).ToContainTextAsync(Person.DisplayName);
        await ScreenshotAsync("consent-page");
    }

    /// <summary>No uncaught script error on any page (failed network requests are not counted: Chromium's own calls to Google are refused here).</summary>
    public void AssertNoPageErrors() => Assert.True(_pageErrors.IsEmpty, "script errors on the page:\n" + string.Join("\n", _pageErrors));

    public static Regex Text(string pattern) => new(pattern, RegexOptions.None);

    public async ValueTask DisposeAsync()
    {
        await _context.DisposeAsync();
        if (_ownsWorld)
        {
            await World.DisposeAsync();
        }
    }
}
