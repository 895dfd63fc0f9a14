using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Webex.Emulator;
using WebexGateway.Configuration;
using WebexGateway.Telemetry;

namespace WebexGateway.Demo;

/// <summary>
/// A plain <c>dotnet run</c> in Development with no Webex client configured: the gateway starts the Webex emulator
/// in-process and points itself at it, so everything works offline and no real Webex account is needed.
/// </summary>
public static class DemoMode
{
    public const string ClientId = "webex-gateway-demo";
    public const string ClientSecret = "webex-gateway-demo-secret";

    public static IHostApplicationBuilder AddDemoMode(this IHostApplicationBuilder builder)
    {
        if (!builder.Environment.IsDevelopment() || !string.IsNullOrWhiteSpace(builder.Configuration["Webex:ClientId"]))
        {
            return builder;
        }

        var options = new WebexEmulatorOptions { Consent = ConsentMode.Page };
        options.Clients.Add(new EmulatorClient(ClientId, ClientSecret));
        var emulator = WebexEmulator.StartAsync(options).GetAwaiter().GetResult();
        var baseUrl = emulator.BaseUrl.ToString().TrimEnd('/');
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Webex:BaseUrl"] = baseUrl,
            ["Webex:AuthorizeUrl"] = $"{baseUrl}/v1/authorize",
            ["Webex:TokenUrl"] = $"{baseUrl}/v1/access_token",
            ["Webex:ApiUrl"] = baseUrl,
            ["Webex:ClientId"] = ClientId,
            ["Webex:ClientSecret"] = ClientSecret,
            ["Webex:Scopes"] = "spark:people_read spark:rooms_read spark:messages_write",
        });
        builder.Services.AddSingleton(emulator);
        builder.Services.AddHostedService<DemoModeAnnouncement>();
        return builder;
    }

    private sealed class DemoModeAnnouncement(WebexEmulator emulator, IServer server, IHostApplicationLifetime lifetime, ILoggerFactory loggers)
        : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() =>
            {
                var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost:5000";
                Log.DemoMode(loggers.CreateLogger("WebexGateway.Demo"), emulator.BaseUrl.ToString(), $"{address.TrimEnd('/')}/");
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
