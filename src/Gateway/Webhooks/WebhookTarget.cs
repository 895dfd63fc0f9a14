using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using WebexGateway.Demo;

namespace WebexGateway.Webhooks;

/// <summary>
/// Where Webex posts the webhooks: <c>{Gateway:PublicUrl}/webhooks/webex</c>. In demo mode the in-process emulator
/// reaches the gateway on loopback, so live events are on there too, at the gateway's own loopback address.
/// </summary>
public sealed class WebhookTarget(IOptions<WebhookOptions> options, IConfiguration configuration, IHostEnvironment environment, IServer server)
{
    public const string Path = "/webhooks/webex";

    private readonly string? _configured = string.IsNullOrWhiteSpace(options.Value.PublicUrl) ? null : options.Value.PublicUrl.TrimEnd('/') + Path;

    private bool IsDemo => environment.IsDevelopment() && string.Equals(configuration["Webex:ClientId"], DemoMode.ClientId, StringComparison.Ordinal);

    /// <summary>Whether the gateway subscribes people to live events at all.</summary>
    public bool IsOn => _configured is not null || IsDemo;

    /// <summary>The webhooks' target URL, or null while live events are off (or, in demo mode, before the server listens).</summary>
    public string? Url => _configured ?? (IsDemo ? OwnLoopbackAddress() : null);

    private string? OwnLoopbackAddress()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            var binding = BindingAddress.Parse(address);
            if (binding.Scheme == Uri.UriSchemeHttp || binding.Scheme == Uri.UriSchemeHttps)
            {
                return $"{binding.Scheme}://127.0.0.1:{binding.Port}{Path}";
            }
        }

        return null;
    }
}
