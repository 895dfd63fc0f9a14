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
        var path = query < 0 ? raw : raw[..query];
        foreach (var segment in path.Split('/', '\\'))
        {
            var decoded = segment.Replace("%2e", ".", StringComparison.OrdinalIgnoreCase);
            if (decoded is "." or "..")
            {
                return true;
            }
        }

        return false;
    }
}
