using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace WebexGateway.Telemetry;

/// <summary>
/// <c>Telemetry:ManagementUrl</c>: one more Kestrel endpoint, for Prometheus on an internal network. A request counts as
/// a management one by the port the connection arrived on (never by its Host header, which any client writes), so
/// nothing sent to a public address reaches <c>/metrics</c>, however it is spelled, and the management port serves
/// nothing but <c>/metrics</c>.
/// </summary>
public static partial class ManagementEndpoint
{
    private const string EndpointName = "WebexGatewayManagement";

    /// <summary>
    /// Adds the management URL to the addresses Kestrel listens on. Kestrel takes either the host's URLs
    /// (<c>urls</c>, <c>ASPNETCORE_HTTP_PORTS</c>, ...) or endpoints of its own, never both, so the host's URLs (or
    /// Kestrel's default) become endpoints too: the public addresses stay what they would have been.
    /// </summary>
    public static void AddManagementEndpoint(this IHostApplicationBuilder builder, TelemetryOptions telemetry)
    {
        if (string.IsNullOrWhiteSpace(telemetry.ManagementUrl) || PortOf(telemetry.ManagementUrl) is null)
        {
            // Not set, or invalid: start-up validation names the key.
            return;
        }

        var configuration = builder.Configuration;
        var endpoints = new Dictionary<string, string?>
        {
            [$"Kestrel:Endpoints:{EndpointName}:Url"] = telemetry.ManagementUrl.Trim(),
        };
        if (!configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            var publicUrls = PublicUrls(configuration).DefaultIfEmpty("http://localhost:5000").ToArray();
            for (var i = 0; i < publicUrls.Length; i++)
            {
                endpoints[$"Kestrel:Endpoints:WebexGatewayPublic{i}:Url"] = publicUrls[i];
            }

            // Now endpoints: left as host URLs too, Kestrel would warn at every start that it ignores them.
            endpoints["urls"] = "";
            endpoints["http_ports"] = "";
            endpoints["https_ports"] = "";
        }

        configuration.AddInMemoryCollection(endpoints);
    }

    /// <summary>The management port's branch: <c>/metrics</c> and nothing else there. First in the pipeline.</summary>
    public static WebApplication UseManagementEndpoint(this WebApplication app)
    {
        var url = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.ManagementUrl;
        if (string.IsNullOrWhiteSpace(url) || PortOf(url) is not { } port)
        {
            return app;
        }

        app.MapWhen(context => context.Connection.LocalPort == port, management =>
        {
            management.UseOpenTelemetryPrometheusScrapingEndpoint("/metrics");
            management.Run(context =>
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        });
        return app;
    }

    /// <summary>The port of an http URL made of a host and a port only (<c>http://0.0.0.0:9091</c>), or null.</summary>
    public static int? PortOf(string url)
    {
        var match = HostAndPort().Match(url.Trim());
        return match.Success && int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535
            ? port
            : null;
    }

    /// <summary>The host's URLs as ASP.NET Core reads them: <c>urls</c>, else <c>http_ports</c> and <c>https_ports</c>.</summary>
    public static IEnumerable<string> PublicUrls(IConfiguration configuration)
    {
        var urls = configuration["urls"];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        return Expand(configuration["http_ports"], "http").Concat(Expand(configuration["https_ports"], "https"))
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren()
                .Where(endpoint => endpoint.Key != EndpointName)
                .Select(endpoint => endpoint["Url"])
                .OfType<string>());

        static IEnumerable<string> Expand(string? ports, string scheme) =>
            (ports ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(port => $"{scheme}://*:{port}");
    }

    [GeneratedRegex(@"^http://(?:\[[0-9a-fA-F:.]+\]|[^/:?#\s\[\]@]+):(?<port>\d{1,5})/?$", RegexOptions.IgnoreCase)]
    private static partial Regex HostAndPort();
}
