using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Extensions;

public static class Extensions
{
    /// <summary>
    /// gateway.json, below environment variables and the command line so either overrides it, the ASP.NET Core way.
    /// It is read from the content root when present there (a checkout), else from beside the binary.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayConfiguration(this IHostApplicationBuilder builder)
    {
        var path = Path.Combine(builder.Environment.ContentRootPath, "gateway.json");
        if (!File.Exists(path))
        {
            path = Path.Combine(AppContext.BaseDirectory, "gateway.json");
        }

        var sources = builder.Configuration.Sources;
        var afterAppSettings = sources.Select((source, index) => (source, index))
            .LastOrDefault(s => s.source is JsonConfigurationSource json && json.Path?.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase) == true)
            .index;
        var gatewayJson = new JsonConfigurationSource { Path = path, Optional = true, ReloadOnChange = false };
        gatewayJson.ResolveFileProvider();
        sources.Insert(afterAppSettings + 1, gatewayJson);

        var services = builder.Services;
        services.AddOptions<WebexOptions>().BindConfiguration(WebexOptions.Section).ValidateOnStart();
        services.AddSingleton<WebexOptionsSetup>();
        services.AddSingleton<IPostConfigureOptions<WebexOptions>>(sp => sp.GetRequiredService<WebexOptionsSetup>());
        services.AddSingleton<IValidateOptions<WebexOptions>>(sp => sp.GetRequiredService<WebexOptionsSetup>());
        services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidation>();
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidation>();
        services.AddOptions<SessionLifetimeOptions>().BindConfiguration(SessionLifetimeOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SessionLifetimeOptions>, SessionLifetimeOptionsValidation>();
        services.AddOptions<KeyRingOptions>().BindConfiguration(KeyRingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyRingOptions>, KeyRingOptionsValidation>();
        services.AddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>The handler of the gateway's own calls to Webex: no trace context goes out unless ops turned it on.</summary>
    private static HttpMessageHandler WebexHandler(IServiceProvider services) => new SocketsHttpHandler
    {
        ActivityHeadersPropagator = services.GetRequiredService<IOptions<TelemetryOptions>>().Value.PropagateTraceContextToWebex
            ? System.Diagnostics.DistributedContextPropagator.Current
            : System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator(),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };

    public static IHostApplicationBuilder AddGrants(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<GrantStore>();
        services.AddSingleton<RefreshCoordinator>();
        services.AddHostedService(sp => sp.GetRequiredService<RefreshCoordinator>());
        services.AddSingleton<GrantKeepAlive>();
        services.AddHostedService(sp => sp.GetRequiredService<GrantKeepAlive>());
        services.AddHttpClient<TokenClient>()
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan) // the resilience pipeline bounds each call
            .ConfigurePrimaryHttpMessageHandler(WebexHandler)
            .AddTokenEndpointResilience();
        services.AddHttpClient(Auth.WebexSignIn.PeopleClient, http => http.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(WebexHandler);
        services.AddProblemDetails();
        // A request the client broke (a body that stops arriving, a malformed body) surfaces as BadHttpRequestException
        // wherever the body is read; it is the client's 4xx (408, 413, 400), never a 500.
        services.Configure<ExceptionHandlerOptions>(options =>
            options.StatusCodeSelector = exception => exception is BadHttpRequestException badRequest ? badRequest.StatusCode : StatusCodes.Status500InternalServerError);
        services.AddExceptionHandler<StoreUnavailableHandler>();
        return builder;
    }
}
