using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace WebexGateway.Telemetry;

/// <summary>The <c>Telemetry</c> section.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Serve <c>GET /metrics</c> in Prometheus text format.</summary>
    public bool Prometheus { get; set; }

    /// <summary>
    /// An http URL with a port of its own (<c>http://0.0.0.0:9091</c>) that the gateway also listens on: when set,
    /// <c>/metrics</c> is served there only, and nothing on the public addresses answers it.
    /// </summary>
    public string? ManagementUrl { get; set; }

    /// <summary>Send <c>traceparent</c> to Webex. Off by default: a third party learns nothing of the gateway's traces.</summary>
    public bool PropagateTraceContextToWebex { get; set; }

    /// <summary>Whether spans are recorded at all (an OTLP endpoint or a sampler is configured): decided at start-up, not a key.</summary>
    internal bool RecordsTraces { get; set; }
}

internal sealed partial class TelemetryOptionsValidation(IConfiguration configuration) : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ManagementUrl))
        {
            return ValidateOptionsResult.Success;
        }

        var errors = new List<string>();
        if (ManagementEndpoint.PortOf(options.ManagementUrl) is not { } port)
        {
            errors.Add($"Telemetry:ManagementUrl must be an http URL with a host and a port and no path, such as http://0.0.0.0:9091 (got '{options.ManagementUrl}').");
        }
        else if (ManagementEndpoint.PublicUrls(configuration).Any(url => PortIn(url) == port))
        {
            errors.Add($"Telemetry:ManagementUrl must have a port of its own; {port} is also a public port of the gateway.");
        }

        if (!options.Prometheus)
        {
            errors.Add("Telemetry:ManagementUrl is set but Telemetry:Prometheus is not true: nothing would be served there.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static int? PortIn(string url) =>
        AnyPort().Match(url) is { Success: true } match ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"^[a-z]+://(?:\[[^\]]*\]|[^/:]*):(\d{1,5})(?:/|$)", RegexOptions.IgnoreCase)]
    private static partial Regex AnyPort();
}
