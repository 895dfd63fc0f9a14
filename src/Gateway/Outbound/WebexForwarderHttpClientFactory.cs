using Microsoft.Extensions.Options;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Forwarder;

namespace WebexGateway.Outbound;

/// <summary>YARP's client (pooled HTTP/1.1 and HTTP/2 connections), with the gateway's trace-context policy.</summary>
public sealed class WebexForwarderHttpClientFactory(IOptions<TelemetryOptions> telemetry) : ForwarderHttpClientFactory
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ActivityHeadersPropagator = WebexHttp.Propagator(telemetry.Value);
    }
}
