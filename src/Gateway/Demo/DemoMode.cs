using System.Net;
using System.Net.Sockets;
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

        // The emulator itself starts with the host (a hosted service); its port is chosen now so the options can name it.
        var baseUrl = $"http://127.0.0.1:{FreeLoopbackPort()}";
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Webex:BaseUrl"] = baseUrl,
            ["Webex:AuthorizeUrl"] = $"{baseUrl}/v1/authorize",
            ["Webex:TokenUrl"] = $"{baseUrl}/v1/access_token",
            ["Webex:ApiUrl"] = baseUrl,
            ["Webex:ClientId"] = ClientId,
            ["Webex:ClientSecret"] = ClientSecret,
            // The read scopes let the demo's people have webhooks, so their rooms update live.
            ["Webex:Scopes"] = "spark:people_read spark:rooms_read spark:messages_write spark:messages_read spark:memberships_read",
        });
        builder.Services.AddHostedService(sp => new DemoEmulatorHost(
            new Uri(baseUrl),
            sp.GetRequiredService<IServer>(),
            sp.GetRequiredService<IHostApplicationLifetime>(),
            sp.GetRequiredService<ILoggerFactory>()));
        return builder;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class DemoEmulatorHost(Uri baseUrl, IServer server, IHostApplicationLifetime lifetime, ILoggerFactory loggers) : IHostedService
    {
        private WebexEmulator? _emulator;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var options = new WebexEmulatorOptions { Consent = ConsentMode.Page };
            options.Clients.Add(new EmulatorClient(ClientId, ClientSecret));
            _emulator = await WebexEmulator.StartAsync(options, baseUrl.Port, cancellationToken);
            lifetime.ApplicationStarted.Register(() =>
            {
                var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost:5080";
                Log.DemoMode(loggers.CreateLogger("WebexGateway.Demo"), baseUrl.ToString(), $"{address.TrimEnd('/')}/");
            });
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_emulator is not null)
            {
                await _emulator.DisposeAsync();
            }
        }
    }
}
