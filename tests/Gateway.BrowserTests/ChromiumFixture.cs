using System.Diagnostics;
using System.Globalization;
using Microsoft.Playwright;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.BrowserTests;

/// <summary>
/// One headless Chromium for the whole run, driven by Playwright. The first that starts of: <c>CHROMIUM_PATH</c> (when
/// set, the only one tried); a system browser on PATH (<see cref="SystemBrowsers"/>); Playwright's own browser folder
/// (<c>PLAYWRIGHT_BROWSERS_PATH</c>, else <c>~/.cache/ms-playwright</c>); Playwright's Chromium, downloaded now within
/// <see cref="InstallTimeLimit"/> (without a network that fails in seconds; never under <c>GATEWAY_TEST_REQUIRE_ALL=1</c>).
/// With none, every browser test is skipped saying how to get one, or fails under <c>GATEWAY_TEST_REQUIRE_ALL=1</c>
/// (see <see cref="SystemBinaries"/>).
/// </summary>
public sealed class ChromiumFixture(IMessageSink diagnostics) : IAsyncLifetime
{
    public const string InstallHint = "apt-get install -y chromium, or set CHROMIUM_PATH";

    private static readonly string[] SystemBrowsers = ["chromium", "chromium-browser", "google-chrome"];

    /// <summary>The executables in a Playwright browser folder (chromium-1248/chrome-linux64/chrome and the like).</summary>
    private static readonly string[] PlaywrightExecutables = ["chrome", "chrome-headless-shell", "headless_shell", "chrome.exe"];

    private static readonly TimeSpan InstallTimeLimit = TimeSpan.FromMinutes(5);

    /// <summary>Why each candidate was not used, for the skip reason.</summary>
    private readonly List<string> _tried = [];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The running browser; when there is none the calling test is skipped (or fails, see above).</summary>
    public IBrowser Browser => _browser ?? throw SystemBinaries.Missing("no Chromium", InstallHint, "Tried: " + string.Join("; ", _tried));

    public async Task InitializeAsync()
    {
        SystemBinaries.AnnounceTo(diagnostics);
        _playwright = await Playwright.CreateAsync();
        if (Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } configured)
        {
            // A wrong CHROMIUM_PATH is reported, not quietly replaced by another browser.
            await TryLaunchAsync(configured, "CHROMIUM_PATH");
            return;
        }

        var onPath = SystemBrowsers.Select(SystemBinaries.Find).OfType<string>().ToList();
        foreach (var path in onPath)
        {
            if (await TryLaunchAsync(path, "on PATH"))
            {
                return;
            }
        }

        if (onPath.Count == 0)
        {
            _tried.Add($"none of {string.Join(", ", SystemBrowsers)} on PATH");
        }
        if (await TryPlaywrightFolderAsync())
        {
            return;
        }

        if (SystemBinaries.RequireAll)
        {
            // Where everything must be installed, a download would hide a missing install step.
            _tried.Add($"no download under {SystemBinaries.RequireAllVariable}=1");
            return;
        }

        if (!await InstallAsync())
        {
            return;
        }

        if (!await TryPlaywrightFolderAsync())
        {
            await TryLaunchAsync(null, "Playwright's default");
        }
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    private static string PlaywrightFolder =>
        Environment.GetEnvironmentVariable("PLAYWRIGHT_BROWSERS_PATH") is { Length: > 0 } folder && folder != "0"
            ? folder
            : Path.Combine(
                Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache
                    ? cache
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
                "ms-playwright");

    private async Task<bool> TryPlaywrightFolderAsync()
    {
        var found = Directory.Exists(PlaywrightFolder)
            ? Directory.EnumerateDirectories(PlaywrightFolder, "chromium*")
                .OrderByDescending(Revision).ThenBy(folder => folder, StringComparer.Ordinal)
                .SelectMany(Directory.EnumerateDirectories)
                .SelectMany(folder => PlaywrightExecutables.Select(name => Path.Combine(folder, name)))
                .Where(File.Exists)
                .ToList()
            : [];
        foreach (var path in found)
        {
            if (await TryLaunchAsync(path, "in Playwright's folder"))
            {
                return true;
            }
        }

        if (found.Count == 0)
        {
            _tried.Add($"none in {PlaywrightFolder}");
        }

        return false;
    }

    private static int Revision(string folder) =>
        int.TryParse(folder[(folder.LastIndexOf('-') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var revision) ? revision : 0;

    private async Task<bool> TryLaunchAsync(string? path, string where)
    {
        try
        {
            _browser = await _playwright!.Chromium.LaunchAsync(new()
            {
                ExecutablePath = path,
                Headless = true,
                Args =
                [
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                ],
            });
            SystemBinaries.Announce($"browser tests: Chromium {_browser.Version} at {path ?? "Playwright's default path"} ({where})");
            return true;
        }
        catch (PlaywrightException e)
        {
            _tried.Add($"{path ?? "Chromium"} ({where}) did not start: {FirstLine(e.Message)}");
            return false;
        }
    }

    /// <summary>
    /// <c>playwright install chromium</c>, as <c>Microsoft.Playwright.Program</c> runs it. Bounded twice: a stalled
    /// connection fails after 15 s (unless PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT says otherwise), and past
    /// <see cref="InstallTimeLimit"/> the installer is stopped.
    /// </summary>
    private async Task<bool> InstallAsync()
    {
        const string connectionTimeout = "PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT";
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(connectionTimeout)))
        {
            Environment.SetEnvironmentVariable(connectionTimeout, "15000");
        }

        var clock = Stopwatch.StartNew();
        var install = Task.Run(() => new Microsoft.Playwright.Program().RunWithResult(["install", "chromium"]));
        try
        {
            var result = await install.WaitAsync(InstallTimeLimit);
            if (result.ExitCode == 0)
            {
                return true;
            }

            var error = (result.StandardError + "\n" + result.StandardOutput).Split('\n', StringSplitOptions.TrimEntries)
                .FirstOrDefault(line => line.StartsWith("Error:", StringComparison.Ordinal)) ?? $"exit code {result.ExitCode}";
            _tried.Add($"Playwright's download of Chromium failed in {clock.Elapsed.TotalSeconds:0} s ({error})");
        }
        catch (TimeoutException)
        {
            StopInstaller();
            _tried.Add($"Playwright's download of Chromium did not finish within {InstallTimeLimit.TotalSeconds:0} s");
        }

        return false;
    }

    /// <summary>Ends the installer this process started (a child running Playwright's cli.js install), by its pid.</summary>
    private static void StopInstaller()
    {
        try
        {
            foreach (var thread in Directory.EnumerateDirectories($"/proc/{Environment.ProcessId}/task"))
            {
                foreach (var child in File.ReadAllText(Path.Combine(thread, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (File.ReadAllText($"/proc/{child}/cmdline").Contains("cli.js\0install\0", StringComparison.Ordinal))
                    {
                        using var process = Process.GetProcessById(int.Parse(child, CultureInfo.InvariantCulture));
                        process.Kill(entireProcessTree: true);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            // Not Linux, or it has just ended: it stops on its own once its connections time out.
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<RedisFixture>, ICollectionFixture<ChromiumFixture>
{
    public const string Name = "browser";
}
