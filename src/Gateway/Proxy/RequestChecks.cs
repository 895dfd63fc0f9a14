using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using WebexGateway.Auth;
using WebexGateway.Refusals;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// What a request must be before anything is looked up for it: not a CONNECT (a tunnel, never an API call); on a
/// Webex route, the <c>X-CSRF</c> header (unless the route is a public bot route, or the call is a browser's same-origin
/// download of a file: <see cref="ContentsDownload"/>) and a path without dot segments; on a
/// bot route, a method and Webex path its <c>Allow</c> metadata lists, and on a public one, a JSON body if any.
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
            var path = UpstreamPath.Of(context.GetReverseProxyFeature().Route);
            if (!ContentsDownload.MayOmitCsrf(context, path))
            {
                return (ContentsDownload.IsContents(context, path) ? Refuse.DownloadCsrfRequired : Refuse.CsrfRequired).ExecuteAsync(context);
            }
        }

        if (HasDotSegment(context))
        {
            return Refuse.DotSegments.ExecuteAsync(context);
        }

        if (route.Kind == RouteTokenKind.Bot)
        {
            var proxied = context.GetReverseProxyFeature().Route;
            var allowed = BotAllowList.Of(proxied);
            if (!allowed.AllowsEverything && !allowed.Allows(context.Request.Method, UpstreamPath.Of(proxied).TargetOf(context)))
            {
                return Refuse.BotRouteNotAllowed.ExecuteAsync(context);
            }

            if (route.IsPublic && HasNonJsonBody(context.Request))
            {
                return Refuse.JsonBodyRequired.ExecuteAsync(context);
            }
        }

        return next(context);
    }

    /// <summary>
    /// True when the request carries a body (a length above zero, or chunked) whose Content-Type is not
    /// <c>application/json</c>, with at most a charset. A page on any site can send a form or a <c>text/plain</c> fetch
    /// without a CORS preflight; it cannot send JSON that way.
    /// </summary>
    public static bool HasNonJsonBody(HttpRequest request)
    {
        var hasBody = request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody
                      ?? (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0);
        if (!hasBody)
        {
            return false;
        }

        return !(request.Headers.ContentType.Count == 1
                 && MediaTypeHeaderValue.TryParse(request.Headers.ContentType[0], out var type)
                 && type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                 && type.Parameters.All(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase)));
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
