using System.Diagnostics;

namespace WebexGateway.Telemetry;

public static class GatewayTelemetry
{
    public const string SourceName = "WebexGateway";

    public static readonly ActivitySource ActivitySource = new(SourceName);

    /// <summary>Marks an outgoing request that must carry no trace context (see <see cref="SelectivePropagator"/>).</summary>
    public static readonly HttpRequestOptionsKey<bool> NoTraceContext = new("webex-gateway.no-trace-context");

    /// <summary>Puts the user's pseudonym (never their id, email or token) on the request's server span.</summary>
    public static void TagUser(Microsoft.AspNetCore.Http.HttpContext context, string personId)
        => context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()?.Activity
            .SetTag("enduser.pseudo.id", GatewayMetrics.UserPseudonym(personId));
}
