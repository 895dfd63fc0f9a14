using Microsoft.Playwright;
using WebexGateway.Tests.Infrastructure;

namespace WebexGateway.BrowserTests;

/// <summary>
/// One headless Chromium for the whole run: the system's (Debian's <c>chromium</c> package), driven by Playwright.
/// Playwright's own browser download is never used; without the system browser every test fails and says what to install.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string DefaultPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary><c>CHROMIUM_PATH</c>, else <see cref="DefaultPath"/>.</summary>
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : DefaultPath;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium did not start.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"The browser tests need Chromium at {ExecutablePath}, and it is not there. Install it with " +
                "`apt-get install -y chromium` (or set CHROMIUM_PATH). Never run `playwright install`: the tests use the system browser.");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<RedisFixture>, ICollectionFixture<ChromiumFixture>
{
    public const string Name = "browser";
}
