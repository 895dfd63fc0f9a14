using Yarp.ReverseProxy.Forwarder;

namespace WebexGateway.Proxy;

public static class ProxyExtensions
{
    public static IHostApplicationBuilder AddWebexProxy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<WebexTokenSource>();
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddConfigFilter<ApiUrlConfigFilter>()
            .AddTransforms<WebexTransforms>();
        return builder;
    }

    /// <summary>
    /// One call on a Webex route: checked, given its token, forwarded by YARP (<see cref="WebexTransforms"/>), replayed
    /// once when Webex answers 401, kept within its fair share of Webex's limits, and a failed forward answered in words.
    /// </summary>
    public static IEndpointRouteBuilder MapWebexProxy(this IEndpointRouteBuilder app)
    {
        app.MapReverseProxy(pipeline =>
        {
            pipeline.UseMiddleware<RequestChecks>();
            pipeline.UseMiddleware<BodySizeLimits>();
            pipeline.UseMiddleware<UpstreamErrors>();
            pipeline.UseMiddleware<TokenReplayMiddleware>();
            pipeline.UseMiddleware<Limits.FairShare>();
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }
}
