using Microsoft.Extensions.Time.Testing;
using Webex.Emulator;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>The parties of one test, each on its own port: the Webex emulator, one or more gateways, and Redis.</summary>
public sealed class TestWorld : IAsyncDisposable
{
    private readonly List<GatewayHost> _gateways = [];
    private readonly List<Browser> _browsers = [];

    private readonly ITestOutputHelper? _output;

    private TestWorld(RedisFixture redis, WebexEmulator emulator, EmulatorPerson person, ITestOutputHelper? output)
    {
        _output = output;
        Redis = redis;
        Emulator = emulator;
        Person = person;
    }

    /// <summary>Who signs in at the emulator.</summary>
    public EmulatorPerson Person { get; }

    public RedisFixture Redis { get; }

    public WebexEmulator Emulator { get; }

    public EmulatorState Webex => Emulator.State;

    public string KeyPrefix { get; } = RedisFixture.NewKeyPrefix();

    /// <summary>A world whose gateways log only to <see cref="GatewayHost.Logs"/>.</summary>
    public static Task<TestWorld> StartAsync(RedisFixture redis, Action<WebexEmulatorOptions>? configure = null) =>
        StartAsync(redis, null, configure);

    /// <summary>A world whose gateways also write every log line to the running test's <paramref name="output"/>.</summary>
    public static async Task<TestWorld> StartAsync(RedisFixture redis, ITestOutputHelper? output, Action<WebexEmulatorOptions>? configure = null)
    {
        var options = new WebexEmulatorOptions();
        options.Clients.Add(new EmulatorClient(GatewayHost.ClientId, GatewayHost.ClientSecret));
        configure?.Invoke(options);
        return new TestWorld(redis, await WebexEmulator.StartAsync(options), options.Person, output);
    }

    public GatewayHost AddGateway(IDictionary<string, string?>? settings = null, FakeTimeProvider? time = null, string? redis = null)
    {
        var gateway = new GatewayHost(Emulator, redis ?? Redis.ConnectionString, KeyPrefix, time, settings, output: _output);
        _gateways.Add(gateway);
        _ = gateway.Address; // start it now
        return gateway;
    }

    public Browser NewBrowser()
    {
        var browser = new Browser();
        _browsers.Add(browser);
        return browser;
    }

    /// <summary>A gateway and a browser signed in to it: where most tests start.</summary>
    public async Task<(GatewayHost Gateway, Browser Browser)> SignedInAsync(IDictionary<string, string?>? settings = null, FakeTimeProvider? time = null)
    {
        var gateway = AddGateway(settings, time);
        var browser = NewBrowser();
        await browser.SignInAsync(gateway.Address);
        return (gateway, browser);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var browser in _browsers)
        {
            browser.Dispose();
        }

        foreach (var gateway in _gateways)
        {
            await gateway.DisposeAsync();
        }

        await Emulator.DisposeAsync();
    }
}
