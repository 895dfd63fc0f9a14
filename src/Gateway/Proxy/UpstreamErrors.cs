using Microsoft.AspNetCore.Http.Features;
using WebexGateway.Refusals;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// YARP answers a failed forward with an empty 502, 503 or 504, and a body that crossed its size limit with an empty 413;
/// frontends get a JSON body that says why.
/// </summary>
public sealed class UpstreamErrors(RequestDelegate next, GatewayMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        if (context.Response.HasStarted || context.Features.Get<IForwarderErrorFeature>() is not { } error)
        {
            return;
        }

        if (context.Response.StatusCode == StatusCodes.Status413PayloadTooLarge && error.Error == ForwarderError.RequestBodyClient
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } limit)
        {
            // A chunked body crossed its limit (BodySizeLimits) while it streamed: YARP has aborted the upstream request.
            context.Response.Clear();
            context.Response.Headers.Connection = "close";
            await Refuse.PayloadTooLarge(limit).ExecuteAsync(context);
            return;
        }

        if (context.Response.StatusCode is not (502 or 503 or 504))
        {
            return;
        }

        // An app route's upstream is the app (a dev server, a static site), not Webex.
        var toWebex = RouteToken.Of(context.GetReverseProxyFeature().Route).SendsWebexToken;
        metrics.UpstreamResponse(null);
        var status = context.Response.StatusCode;
        context.Response.Clear();
        await Refuse.UpstreamFailed(status, toWebex).ExecuteAsync(context);
    }
}
