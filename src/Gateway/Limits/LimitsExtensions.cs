namespace WebexGateway.Limits;

public static class LimitsExtensions
{
    public static IHostApplicationBuilder AddLimits(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<RateLimitOptions>, RateLimitOptionsValidation>();
        services.AddSingleton<CoolDowns>();
        services.AddHostedService(sp => sp.GetRequiredService<CoolDowns>());
        services.AddSingleton<PersonQuota>();
        return builder;
    }
}
