using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace WebexGateway.Benchmarks.RawYarp;

/// <summary>
/// Raw YARP, the benchmarks' reference point: /webex/{**path} forwarded to one upstream with the prefix removed and a
/// static Bearer added, everything else YARP's defaults. No session, no grant, no store: what any YARP proxy costs.
/// Built here so that a benchmark hosting it in its own process runs exactly the app that runs on its own.
/// </summary>
public static class RawYarpApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var upstream = builder.Configuration["Upstream"]
            ?? throw new InvalidOperationException("--Upstream=http://127.0.0.1:<port> is required");
        var authorization = "Bearer " + (builder.Configuration["StaticToken"] ?? "raw-yarp-static-token");

        builder.Services.AddReverseProxy()
            .LoadFromMemory(
                [
                    new RouteConfig
                    {
                        RouteId = "webex",
                        ClusterId = "upstream",
                        Match = new RouteMatch { Path = "/webex/{**path}" },
                    }.WithTransformPathRemovePrefix("/webex"),
                ],
                [
                    new ClusterConfig
                    {
                        ClusterId = "upstream",
                        Destinations = new Dictionary<string, DestinationConfig> { ["upstream"] = new() { Address = upstream } },
                    },
                ])
            .AddTransforms(context => context.AddRequestTransform(transform =>
            {
                transform.ProxyRequest.Headers.TryAddWithoutValidation("Authorization", authorization);
                return ValueTask.CompletedTask;
            }));

        var app = builder.Build();
        app.MapReverseProxy();
        return app;
    }
}
