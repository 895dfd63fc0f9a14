using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using WebexGateway.Configuration;
using WebexGateway.Refusals;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// How large a body a Webex route takes. A message with a file (<c>POST /v1/messages</c> as <c>multipart/form-data</c>)
/// may be as large as <c>Gateway:MaxUploadBytes</c>, Webex's own limit, and streams to Webex; every other call keeps
/// Kestrel's limit. A body whose <c>Content-Length</c> is above the limit is refused here, before anything is looked up
/// or sent; a chunked one makes Kestrel throw where it crosses the limit, YARP then aborts the upstream request, and
/// <see cref="UpstreamErrors"/> answers the 413 in words.
/// </summary>
public sealed class BodySizeLimits(RequestDelegate next, IOptions<GatewayOptions> gateway)
{
    private const string MessagesPath = "/v1/messages";

    private readonly long _maxUploadBytes = gateway.Value.MaxUploadBytes;

    public Task InvokeAsync(HttpContext context)
    {
        var route = context.GetReverseProxyFeature().Route;
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (limit is null || !RouteToken.Of(route).SendsWebexToken)
        {
            return next(context);
        }

        if (!limit.IsReadOnly && IsMessageWithFile(context, route))
        {
            limit.MaxRequestBodySize = _maxUploadBytes;
        }

        if (context.Request.ContentLength > limit.MaxRequestBodySize)
        {
            // Answered without reading the body: the connection cannot be reused for the next request.
            context.Response.Headers.Connection = "close";
            return Refuse.PayloadTooLarge(limit.MaxRequestBodySize.Value).ExecuteAsync(context);
        }

        return next(context);
    }

    private static bool IsMessageWithFile(HttpContext context, RouteModel route)
    {
        if (!HttpMethods.IsPost(context.Request.Method)
            || !MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var target = UpstreamPath.Of(route).TargetOf(context).AsSpan();
        var query = target.IndexOf('?');
        var path = query < 0 ? target : target[..query];
        return path.TrimEnd('/').Equals(MessagesPath, StringComparison.OrdinalIgnoreCase);
    }
}
