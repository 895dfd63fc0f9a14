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
    private int _step;

    private DemoPage(TestWorld world, GatewayHost gateway, IBrowserContext context, IPage page, string scenario)
    {
        World = world;
        Gateway = gateway;
        _context = context;
        Page = page;
        _scenario = scenario;
        page.PageError += (_, error) => _pageErrors.Enqueue(error);
    }

    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public TestWorld World { get; }

    public GatewayHost Gateway { get; }

    public IPage Page { get; }

    public EmulatorPerson Person => World.Person;

    /// <summary>Skips the calling test (see <see cref="ChromiumFixture"/>) before starting anything when there is no browser.</summary>
    /// <param name="settings">The gateway's configuration beyond the test defaults.</param>
    public static async Task<DemoPage> StartAsync(RedisFixture redis, ChromiumFixture chromium, string scenario,
        IDictionary<string, string?>? settings = null)
    {
        var browser = chromium.Browser;
        SetDefaultExpectTimeout(15_000);
        var world = await TestWorld.StartAsync(redis, options => options.Consent = ConsentMode.Page);
        try
        {
            var gateway = world.AddGateway(settings);
            var context = await browser.NewContextAsync(new()
            {
                BaseURL = gateway.Address.ToString(),
                ViewportSize = new() { Width = 1100, Height = 900 },
                Locale = "en-US",
                TimezoneId = "UTC",
            });
            context.SetDefaultTimeout(20_000);
            context.SetDefaultNavigationTimeout(20_000);
            return new DemoPage(world, gateway, context, await context.NewPageAsync(), scenario);
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
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
    public async Task SignInAsync()
    {
        await Page.GotoAsync("/");
        await Expect(Id("sign-in")).ToBeVisibleAsync();
        await Expect(Id("signed-in")).ToBeHiddenAsync();
        await ScreenshotAsync("signed-out");

        await OpenConsentPageAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();

        await Expect(Page).ToHaveURLAsync(new Uri(Gateway.Address, "/").ToString());
        await Expect(Id("name")).ToHaveTextAsync(Person.DisplayName);
        await Expect(Rooms).ToHaveCountAsync(10);
    }

    /// <summary>Clicks "Sign in with Webex" and waits for the emulator's consent page.</summary>
    public async Task OpenConsentPageAsync()
    {
        await Id("sign-in").ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Allow access to your Webex account?" })).ToBeVisibleAsync();
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
        await World.DisposeAsync();
    }
}
