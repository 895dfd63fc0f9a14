using Microsoft.AspNetCore.Http.Features;
using WebexGateway.Auth;
using WebexGateway.Refusals;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// What a request must be before anything is looked up for it: not a CONNECT (a tunnel, never an API call), and on a
/// Webex route, the <c>X-CSRF</c> header (unless the route is a public bot route) and a path without dot segments.
/// </summary>
public sealed class RequestChecks(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (HttpMethods.IsConnect(context.Request.Method))
        {
            // Kestrel accepts CONNECT with a path, but HttpClient cannot send it on: forwarding it would end as a 502.
            return Refuse.Tunnel.ExecuteAsync(context);
        }

        var route = RouteToken.Of(context.GetReverseProxyFeature().Route);
        if (!route.SendsWebexToken)
        {
            return next(context);
        }

        if (!route.IsPublic && !CsrfHeader.IsPresent(context.Request))
        {
            return Refuse.CsrfRequired.ExecuteAsync(context);
        }

        if (HasDotSegment(context))
        {
            return Refuse.DotSegments.ExecuteAsync(context);
        }

        return next(context);
    }

    /// <summary>
    /// True when the raw path holds a <c>.</c> or <c>..</c> segment, literal or percent-encoded. The raw target is forwarded
    /// as it came, so such a segment would reach Webex unresolved; refusing it keeps every call inside the API's path space.
    /// </summary>
    public static bool HasDotSegment(HttpContext context)
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
