using System.Diagnostics;

namespace WebexGateway.Telemetry;

public static class GatewayTelemetry
{
    public const string SourceName = "WebexGateway";

    public static readonly ActivitySource ActivitySource = new(SourceName);

    /// <summary>Puts the user's pseudonym (never their id, email or token) on the request's server span.</summary>
    public static void TagUser(Microsoft.AspNetCore.Http.HttpContext context, string personId)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()?.Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("enduser.pseudo.id", GatewayMetrics.UserPseudonym(personId));
        }
    }
}
