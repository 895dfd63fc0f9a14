using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Webex.Emulator;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>One gateway instance on real Kestrel at 127.0.0.1, configured against the emulator and a shared Redis.</summary>
public sealed class GatewayHost : WebApplicationFactory<Program>
{
    public const string ClientId = "test-client";
    public const string ClientSecret = "test-client-secret";

    private readonly Dictionary<string, string?> _settings;
    private readonly FakeTimeProvider? _time;
    private readonly string _environment;
    private static int _count;

    private readonly Action<IServiceCollection>? _services;
    private readonly ITestOutputHelper? _output;

    /// <param name="output">The running test's output, which then gets every log line too.</param>
    public GatewayHost(WebexEmulator emulator, string redisConnectionString, string keyPrefix, FakeTimeProvider? time = null,
        IDictionary<string, string?>? settings = null, string environment = "Development", Action<IServiceCollection>? services = null,
        ITestOutputHelper? output = null)
    {
        _services = services;
        _output = output;
        _time = time;
        _environment = environment;
        _settings = new Dictionary<string, string?>
        {
            ["Webex:BaseUrl"] = emulator.BaseUrl.ToString().TrimEnd('/'),
            ["Webex:ClientId"] = ClientId,
            ["Webex:ClientSecret"] = ClientSecret,
            ["Webex:Scopes"] = "spark:people_read spark:rooms_read spark:messages_write",
            ["Redis:ConnectionString"] = redisConnectionString,
            ["Redis:KeyPrefix"] = keyPrefix,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
    }

    /// <summary>Every log line the gateway wrote, formatted.</summary>
    public ConcurrentQueue<string> Logs { get; } = new();

    /// <summary>How its log lines are marked in the test output, where one test may show several gateways.</summary>
    public string Name { get; } = $"gateway {Interlocked.Increment(ref _count)}";

    public Uri Address
    {
        get
        {
            StartServer();
            var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Uri(address);
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddProvider(new CapturingLoggerProvider(Logs, _output, Name));
        });
        builder.ConfigureTestServices(services =>
        {
            if (_time is not null)
            {
                services.AddSingleton<TimeProvider>(_time);
            }

            _services?.Invoke(services);
        });
    }

    /// <summary>Starts a gateway that must refuse to start; returns the validation failure.</summary>
    public static Microsoft.Extensions.Options.OptionsValidationException StartupFailure(GatewayHost gateway)
    {
        var error = Record.Exception(() => gateway.StartServer());
        return Assert.IsType<Microsoft.Extensions.Options.OptionsValidationException>(error, exactMatch: false);
    }
}
