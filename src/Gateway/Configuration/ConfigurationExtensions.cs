using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Options;
using WebexGateway.Telemetry;

namespace WebexGateway.Configuration;

public static class ConfigurationExtensions
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
}
