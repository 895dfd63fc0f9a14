using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using WebexGateway.Apps;
using WebexGateway.Auth;
using WebexGateway.Refusals;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// What a request must be before anything is looked up for it: not a CONNECT (a tunnel, never an API call) unless it
/// is a WebSocket handshake; on an app route, a WebSocket handshake only from an allowed origin; on a Webex route, no
/// WebSocket handshake, the <c>X-CSRF</c> header (unless the route is a public bot route, or the call is a browser's
/// same-origin download of a file: <see cref="ContentsDownload"/>) and a path without dot segments; on a
/// bot route, a method and Webex path its <c>Allow</c> metadata lists, and on a public one, a JSON body if any.
/// </summary>
public sealed class RequestChecks(RequestDelegate next, WebSocketOrigins webSocketOrigins)
{
    public Task InvokeAsync(HttpContext context)
    {
        var webSocket = WebSocketOrigins.IsHandshake(context);
        if (HttpMethods.IsConnect(context.Request.Method) && !webSocket)
        {
            // Kestrel accepts CONNECT with a path, but HttpClient cannot send it on: forwarding it would end as a 502.
            // HTTP/2's extended CONNECT for a WebSocket is a handshake, checked below like HTTP/1.1's Upgrade.
            return Refuse.Tunnel.ExecuteAsync(context);
        }

        var route = RouteToken.Of(context.GetReverseProxyFeature().Route);
        if (!route.SendsWebexToken)
        {
            // YARP upgrades an app route's WebSocket itself; only the page that asked for it is checked here.
            return webSocket && !webSocketOrigins.Allows(context.Request)
                ? Refuse.WebSocketOriginNotAllowed.ExecuteAsync(context)
                : next(context);
        }

        if (webSocket)
        {
            return Refuse.WebSocketNotSupported.ExecuteAsync(context);
        }

        if (!route.IsPublic && !CsrfHeader.IsPresent(context.Request))
        {
            var path = UpstreamPath.Of(context.GetReverseProxyFeature().Route);
            if (!ContentsDownload.MayOmitCsrf(context, path))
            {
                return (ContentsDownload.IsContents(context, path) ? Refuse.DownloadCsrfRequired : Refuse.CsrfRequired).ExecuteAsync(context);
            }
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
}
