namespace WebexGateway.Grants;

public static class GrantsExtensions
{
    /// <summary>Grants: their store, single-flight refresh across instances, and the keep-alive of unused ones.</summary>
    public static IHostApplicationBuilder AddGrants(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<GrantStore>();
        services.AddSingleton<RefreshCoordinator>();
        services.AddHostedService(sp => sp.GetRequiredService<RefreshCoordinator>());
        services.AddSingleton<GrantKeepAlive>();
        services.AddHostedService(sp => sp.GetRequiredService<GrantKeepAlive>());
        return builder;
    }
}
