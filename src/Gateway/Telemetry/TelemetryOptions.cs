namespace WebexGateway.Telemetry;

/// <summary>The <c>Telemetry</c> section.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Serve <c>GET /metrics</c> in Prometheus text format.</summary>
    public bool Prometheus { get; set; }

    /// <summary>Send <c>traceparent</c> to Webex. Off by default: a third party learns nothing of the gateway's traces.</summary>
    public bool PropagateTraceContextToWebex { get; set; }
}
