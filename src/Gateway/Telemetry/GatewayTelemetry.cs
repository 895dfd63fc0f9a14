using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace WebexGateway.Telemetry;

public static class GatewayTelemetry
{
    public const string SourceName = "WebexGateway";

    public static readonly ActivitySource ActivitySource = new(SourceName);

    /// <summary>
    /// The request's server span when somebody records it. ASP.NET Core makes an activity for every request (for log
    /// correlation) even with no tracing; tags on that one would be computed for nobody.
    /// </summary>
    public static Activity? RecordedServerSpan(HttpContext context)
        => context.Features.Get<IHttpActivityFeature>()?.Activity is { IsAllDataRequested: true } activity && activity.Source.HasListeners()
            ? activity
            : null;

    /// <summary>Puts the user's pseudonym (never their id, email or token) on the request's server span.</summary>
    public static void TagUser(HttpContext context, string personId)
        => RecordedServerSpan(context)?.SetTag("enduser.pseudo.id", GatewayMetrics.UserPseudonym(personId));
}
