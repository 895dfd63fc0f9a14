using Microsoft.AspNetCore.Http.Features;

namespace WebexGateway.Proxy;

public static class UpstreamPaths
{
    /// <summary>
    /// True when the raw path holds a <c>.</c> or <c>..</c> segment, literal or percent-encoded. The raw target is forwarded
    /// as it came, so such a segment would reach Webex unresolved; refusing it keeps every call inside the API's path space.
    /// </summary>
    public static bool HasDotSegment(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = raw.IndexOf('?');
        // Encoded slashes count as separators here: a server behind Webex's edge may decode them.
        var path = (query < 0 ? raw : raw[..query])
            .Replace("%2f", "/", StringComparison.OrdinalIgnoreCase)
            .Replace("%5c", "/", StringComparison.OrdinalIgnoreCase)
            .Replace("%2e", ".", StringComparison.OrdinalIgnoreCase);
        foreach (var segment in path.Split('/', '\\'))
        {
            if (segment is "." or "..")
            {
                return true;
            }
        }

        return false;
    }
}
