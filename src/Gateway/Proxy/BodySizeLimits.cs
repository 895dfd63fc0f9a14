using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using WebexGateway.Configuration;
using WebexGateway.Refusals;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// How large a body a Webex route takes. A message with a file (<c>POST /v1/messages</c> as <c>multipart/form-data</c>)
/// may carry a file as large as <c>Gateway:MaxUploadBytes</c>, Webex's own limit (the body may be 1 MiB larger, for
/// the other fields), and streams to Webex; every other call keeps
/// Kestrel's limit. A body whose <c>Content-Length</c> is above the limit is refused here, before anything is looked up
/// or sent, and the body the client still sends is read and dropped for a while so that the client gets to read the 413;
/// a chunked one makes Kestrel throw where it crosses the limit, YARP then aborts the upstream request, and
/// <see cref="UpstreamErrors"/> answers the 413 in words.
/// </summary>
public sealed class BodySizeLimits(RequestDelegate next, IOptions<GatewayOptions> gateway)
{
    private const string MessagesPath = "/v1/messages";

    /// <summary>Room for the message's other fields (text and markdown up to 7,439 bytes each) and the parts' headers.</summary>
    public const long FormFieldsAllowance = 1024 * 1024;

    private readonly long _maxUploadBytes = gateway.Value.MaxUploadBytes + FormFieldsAllowance;

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
            var max = limit.MaxRequestBodySize.Value;
            if (limit.IsReadOnly)
            {
                context.Response.Headers.Connection = "close";
            }
            else
            {
                // Once the 413 is sent, Kestrel reads and drops what the client still sends, for up to 5 s, before it
                // reuses or closes the connection; the limit would make that drain fail at once. A connection closed with
                // unread bytes is reset, and a client still sending its body (a browser's fetch among them) then loses
                // the 413 it was sent.
                limit.MaxRequestBodySize = null;
            }

            return Refuse.PayloadTooLarge(max).ExecuteAsync(context);
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
