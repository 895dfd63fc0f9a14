using System.ComponentModel.DataAnnotations;

namespace WebexGateway.Configuration;

/// <summary>The <c>Webex</c> section: where Webex lives and who the gateway is to it.</summary>
public sealed class WebexOptions
{
    public const string Section = "Webex";

    public string BaseUrl { get; set; } = "https://webexapis.com";

    /// <summary>Derived from <see cref="BaseUrl"/> when not set.</summary>
    public string? AuthorizeUrl { get; set; }

    /// <summary>Derived from <see cref="BaseUrl"/> when not set.</summary>
    public string? TokenUrl { get; set; }

    /// <summary>The upstream of <c>/webex/*</c>; derived from <see cref="BaseUrl"/> when not set.</summary>
    public string? ApiUrl { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    public string Scopes { get; set; } = "spark:people_read";

    /// <summary>When empty, the callback URL is built from the request (Development only).</summary>
    public string? RedirectUri { get; set; }

    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long one call to the token endpoint may take.</summary>
    public TimeSpan TokenRequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public IEnumerable<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>The <c>Redis</c> section.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis syntax; empty starts the embedded store.</summary>
    public string ConnectionString { get; set; } = "";

    public string KeyPrefix { get; set; } = "webex-gateway:";

    /// <summary>Where the embedded store keeps its data; relative paths are under the content root.</summary>
    public string DataDirectory { get; set; } = ".gateway-data/redis";

    /// <summary>
    /// When above 0, each grant write is followed by <c>WAIT</c> for this many replicas, so a grant acknowledged
    /// before a Sentinel failover is on the replica that gets promoted. Fewer acknowledgements log a warning.
    /// </summary>
    public int WaitForReplicas { get; set; }
}

/// <summary>The <c>Gateway</c> section.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    [Range(0, 64 * 1024 * 1024)]
    public long MaxReplayBodyBytes { get; set; } = 1024 * 1024;
}
