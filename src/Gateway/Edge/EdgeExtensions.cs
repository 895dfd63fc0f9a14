using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace WebexGateway.Edge;

/// <summary>
/// What every request meets first: the client's address and scheme, taken from <c>X-Forwarded-For</c> and
/// <c>X-Forwarded-Proto</c> only when a configured known proxy sent them, and the security headers of every answer.
/// </summary>
public static class EdgeExtensions
{
    public static IHostApplicationBuilder AddEdge(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<KnownProxiesOptions>().BindConfiguration(KnownProxiesOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KnownProxiesOptions>, KnownProxiesValidation>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<KnownProxiesOptions>>((options, proxies) =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // Nothing is trusted by default (ASP.NET Core would trust loopback): only what is configured.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            // A chain of known proxies is walked back to the first address that is not one: the client's.
            options.ForwardLimit = null;
            foreach (var entry in proxies.Value.KnownProxies)
            {
                if (KnownProxiesOptions.TryParse(entry, out var address, out var network))
                {
                    if (address is not null)
                    {
                        options.KnownProxies.Add(address);
                    }
                    else
                    {
                        options.KnownIPNetworks.Add(network);
                    }
                }
            }
        });

        services.PostConfigure<StaticFileOptions>(options =>
        {
            var prepare = options.OnPrepareResponse;
            options.OnPrepareResponse = context =>
            {
                prepare(context);
                SecurityHeaders.OnStaticFile(context);
            };
        });
        services.PostConfigure<ProblemDetailsOptions>(options =>
        {
            var customize = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                // The exception handler cleared the response, and with it what the middleware had set.
                SecurityHeaders.Apply(context.HttpContext);
                customize?.Invoke(context);
            };
        });
        return builder;
    }

    /// <summary>First in the pipeline: every later step sees the client's address and scheme, and every answer gets the headers.</summary>
    public static IApplicationBuilder UseEdge(this WebApplication app)
    {
        // Read from configuration, not the options: those are validated when the host starts, with every other key.
        if (app.Configuration.GetSection($"{KnownProxiesOptions.Section}:{nameof(KnownProxiesOptions.KnownProxies)}").GetChildren().Any())
        {
            app.UseForwardedHeaders();
        }

        app.UseMiddleware<SecurityHeaders>();

        app.UseMiddleware<DotSegments>();
        return app;
    }
}
