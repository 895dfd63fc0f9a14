using Microsoft.AspNetCore.Http.Features;
using WebexGateway.Refusals;

namespace WebexGateway.Edge;

/// <summary>
/// No path with a <c>.</c> or <c>..</c> segment reaches any part of the gateway: a Webex route forwards the raw target
/// as it came (Webex would resolve the segment), and a static folder's trailing-slash redirect would echo it.
/// </summary>
public sealed class DotSegments(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context) =>
        IsIn(context) ? Refuse.DotSegments.ExecuteAsync(context) : next(context);

    /// <summary>
    /// True when the raw path holds a <c>.</c> or <c>..</c> segment, literal or percent-encoded. The raw target is forwarded
    /// as it came, so such a segment would reach Webex unresolved; refusing it keeps every call inside the API's path space.
    /// </summary>
    public static bool IsIn(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = raw.IndexOf('?');
        var path = query < 0 ? raw.AsSpan() : raw.AsSpan(0, query);
        if (!path.Contains('.') && !path.Contains("%2e", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Encoded slashes count as separators here: a server behind Webex's edge may decode them.
        var decoded = path.ToString()
            .Replace("%2f", "/", StringComparison.OrdinalIgnoreCase)
            .Replace("%5c", "/", StringComparison.OrdinalIgnoreCase)
            .Replace("%2e", ".", StringComparison.OrdinalIgnoreCase);
        foreach (var segment in decoded.Split('/', '\\'))
        {
            if (segment is "." or "..")
            {
                return true;
            }
        }

        return false;
    }
}
