using WebexGateway.Refusals;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>YARP answers a failed forward with an empty 502, 503 or 504; frontends get a JSON body that says why.</summary>
public sealed class UpstreamErrors(RequestDelegate next, GatewayMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        if (context.Response.StatusCode is not (502 or 503 or 504) || context.Response.HasStarted
            || context.Features.Get<IForwarderErrorFeature>() is null)
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
