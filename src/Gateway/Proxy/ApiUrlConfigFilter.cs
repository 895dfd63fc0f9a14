using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using System.Net;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace WebexGateway.Proxy;

/// <summary>
/// The <c>webex</c> cluster always points at <c>Webex:ApiUrl</c>, so one setting moves the whole gateway; and every Webex
/// route (user or bot token) gets the gateway's CORS policy (<c>Gateway:AllowedOrigins</c>) unless it names its own.
/// </summary>
public sealed class ApiUrlConfigFilter(IOptions<WebexOptions> webex) : IProxyConfigFilter
{
    public const string WebexClusterId = "webex";

    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        if (cluster.ClusterId != WebexClusterId)
        {
            return ValueTask.FromResult(cluster);
        }

        // HTTP/1.1 on a pool of connections: concurrent calls do not queue behind one HTTP/2 connection's streams.
        return ValueTask.FromResult(cluster with
        {
            Destinations = new Dictionary<string, DestinationConfig>
            {
                ["webex-api"] = new() { Address = webex.Value.ApiUrl! },
            },
            HttpRequest = (cluster.HttpRequest ?? new ForwarderRequestConfig()) with
            {
                Version = cluster.HttpRequest?.Version ?? HttpVersion.Version11,
                VersionPolicy = cluster.HttpRequest?.VersionPolicy ?? HttpVersionPolicy.RequestVersionOrLower,
            },
        });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel)
        => ValueTask.FromResult(RouteToken.Of(route.Metadata).SendsWebexToken && route.CorsPolicy is null
            ? route with { CorsPolicy = Apps.GatewayCors.PolicyName }
            : route);
}
