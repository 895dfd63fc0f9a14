using System.Diagnostics;
using Microsoft.Extensions.Options;
using WebexGateway.Grants;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Forwarder;

namespace WebexGateway.Outbound;

/// <summary>
/// Every call the gateway makes to Webex, in one place: the token endpoint (with its resilience), the people call at
/// sign-in, and YARP's forwarder. None carries trace context unless <c>Telemetry:PropagateTraceContextToWebex</c> is on.
/// </summary>
public static class WebexHttp
{
    public const string PeopleClient = "webex-people";

    /// <summary>Webex's <c>/v1/webhooks</c>, called with a person's token by the webhook lifecycle.</summary>
    public const string WebhooksClient = "webex-webhooks";

    /// <summary>Marks an outgoing request that must carry no trace context (see <see cref="SelectivePropagator"/>).</summary>
    public static readonly HttpRequestOptionsKey<bool> NoTraceContext = new("webex-gateway.no-trace-context");

    public static IHostApplicationBuilder AddWebexClients(this IHostApplicationBuilder builder)
    {
        SelectivePropagator.Install();
        var services = builder.Services;
        services.AddHttpClient<TokenClient>()
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan) // the resilience pipeline bounds each call
            .ConfigurePrimaryHttpMessageHandler(Handler)
            .AddTokenEndpointResilience();
        services.AddHttpClient(PeopleClient, http => http.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(Handler);
        services.AddHttpClient(WebhooksClient, http => http.Timeout = Timeout.InfiniteTimeSpan) // the resilience pipeline bounds each call
            .ConfigurePrimaryHttpMessageHandler(Handler)
            .AddWebhookCallResilience();
        services.AddSingleton<IForwarderHttpClientFactory, WebexForwarderHttpClientFactory>();
        return builder;
    }

    /// <summary>Marks <paramref name="request"/> to carry no trace context unless ops turned propagation on.</summary>
    public static void ApplyTraceContextPolicy(HttpRequestMessage request, TelemetryOptions telemetry)
    {
        if (!telemetry.PropagateTraceContextToWebex)
        {
            request.Options.Set(NoTraceContext, true);
        }
    }

    /// <summary>The propagator of a handler that calls Webex: none unless ops turned it on.</summary>
    public static DistributedContextPropagator Propagator(TelemetryOptions telemetry) => telemetry.PropagateTraceContextToWebex
        ? DistributedContextPropagator.Current
        : DistributedContextPropagator.CreateNoOutputPropagator();

    private static HttpMessageHandler Handler(IServiceProvider services) => new SocketsHttpHandler
    {
        ActivityHeadersPropagator = Propagator(services.GetRequiredService<IOptions<TelemetryOptions>>().Value),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };
}
