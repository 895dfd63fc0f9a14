using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

// Raw YARP, the benchmark's reference point: /webex/{**path} forwarded to one upstream with the prefix removed and a
// static Bearer added, everything else YARP's defaults. No session, no grant, no store: what any YARP proxy costs.
//   dotnet RawYarp.dll --urls http://127.0.0.1:<port> --Upstream=http://127.0.0.1:<port> [--StaticToken=<token>]

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
app.Run();
