using Microsoft.Extensions.Options;

namespace WebexGateway.Edge;

/// <summary><c>Gateway:KnownProxies</c>: the proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed.</summary>
public sealed class KnownProxiesOptions
{
    public const string Section = "Gateway";

    /// <summary>IP addresses (<c>10.0.0.5</c>) and networks (<c>10.0.0.0/8</c>). Empty: no forwarding header is believed.</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>One entry: an address, or a network when it has a prefix length.</summary>
    public static bool TryParse(string? entry, out System.Net.IPAddress? address, out System.Net.IPNetwork network)
    {
        entry = entry?.Trim() ?? "";
        address = null;
        network = default;
        return entry.Contains('/', StringComparison.Ordinal)
            ? System.Net.IPNetwork.TryParse(entry, out network)
            : System.Net.IPAddress.TryParse(entry, out address);
    }
}

internal sealed class KnownProxiesValidation : IValidateOptions<KnownProxiesOptions>
{
    public ValidateOptionsResult Validate(string? name, KnownProxiesOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.KnownProxies.Length; i++)
        {
            var entry = options.KnownProxies[i];
            if (!KnownProxiesOptions.TryParse(entry, out _, out _))
            {
                errors.Add($"Gateway:KnownProxies:{i} must be an IP address (10.0.0.5) or a network with no host bits set (10.0.0.0/8) (got '{entry}').");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
