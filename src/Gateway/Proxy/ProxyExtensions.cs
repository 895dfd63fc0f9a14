using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

public static class ProxyExtensions
{
    public static IHostApplicationBuilder AddWebexProxy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IForwarderHttpClientFactory, WebexForwarderHttpClientFactory>();
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddConfigFilter<ApiUrlConfigFilter>()
            .AddTransforms<WebexTransforms>();
        return builder;
    }

    public static IEndpointRouteBuilder MapWebexProxy(this IEndpointRouteBuilder app)
    {
        app.MapReverseProxy(pipeline =>
        {
            pipeline.Use(RefuseTunnels);
            pipeline.Use(UpstreamErrorsAsJson);
            pipeline.UseMiddleware<UserTokenMiddleware>();
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }

    /// <summary>
    /// CONNECT asks for a tunnel, never for an API call. Kestrel accepts it with a path, but HttpClient cannot send it on to
    /// Webex, so forwarding it would end as a 502 blaming Webex for the client's request.
    /// </summary>
    private static Task RefuseTunnels(HttpContext context, Func<Task> next)
    {
        if (!HttpMethods.IsConnect(context.Request.Method))
        {
            return next();
        }

        context.Response.Headers.Allow = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
        return Results.Json(
                new { error = "method_not_allowed", message = "CONNECT is not forwarded to Webex." },
                statusCode: StatusCodes.Status405MethodNotAllowed)
            .ExecuteAsync(context);
    }

    /// <summary>YARP answers a failed forward with an empty 502 or 504; frontends get a JSON body that says why.</summary>
    private static async Task UpstreamErrorsAsJson(HttpContext context, Func<Task> next)
    {
        await next();
        var error = context.Features.Get<IForwarderErrorFeature>();
        if (error is null || context.Response.HasStarted || context.Response.StatusCode is not (502 or 503 or 504))
        {
            return;
        }

        // An app route's upstream is the app (a dev server, a static site), not Webex.
        var upstream = RouteToken.Of(context.GetReverseProxyFeature().Route).SendsWebexToken ? "Webex" : "The app's upstream";
        var (status, message) = context.Response.StatusCode switch
        {
            StatusCodes.Status504GatewayTimeout => (StatusCodes.Status504GatewayTimeout, $"{upstream} did not answer in time."),
            StatusCodes.Status503ServiceUnavailable => (StatusCodes.Status503ServiceUnavailable, $"No {(upstream == "Webex" ? "Webex" : "app")} destination is available."),
            _ => (StatusCodes.Status502BadGateway, $"{upstream} could not be reached."),
        };
        context.RequestServices.GetRequiredService<GatewayMetrics>().UpstreamResponse(null);
        context.Response.Clear();
        await Results.Json(new { error = "upstream_unavailable", message }, statusCode: status).ExecuteAsync(context);
    }
}
