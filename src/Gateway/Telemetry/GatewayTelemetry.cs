using System.Diagnostics;

namespace WebexGateway.Telemetry;

public static class GatewayTelemetry
{
    public const string SourceName = "WebexGateway";

    public static readonly ActivitySource ActivitySource = new(SourceName);
}
