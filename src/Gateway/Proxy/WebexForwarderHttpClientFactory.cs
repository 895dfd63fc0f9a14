using System.Diagnostics;
using Microsoft.Extensions.Options;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Forwarder;

namespace WebexGateway.Proxy;

/// <summary>YARP's client, sending no trace context to Webex unless <c>Telemetry:PropagateTraceContextToWebex</c> is on.</summary>
public sealed class WebexForwarderHttpClientFactory(IOptions<TelemetryOptions> telemetry) : ForwarderHttpClientFactory
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        if (!telemetry.Value.PropagateTraceContextToWebex)
        {
            handler.ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator();
        }
    }
}
