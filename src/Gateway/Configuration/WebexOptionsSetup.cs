using Microsoft.Extensions.Options;

namespace WebexGateway.Configuration;

/// <summary>Derives the Webex URLs from <c>Webex:BaseUrl</c> and checks every key at start-up.</summary>
internal sealed class WebexOptionsSetup(IHostEnvironment environment)
    : IPostConfigureOptions<WebexOptions>, IValidateOptions<WebexOptions>
{
    public void PostConfigure(string? name, WebexOptions options)
    {
        var baseUrl = options.BaseUrl.TrimEnd('/');
        options.AuthorizeUrl = NullIfEmpty(options.AuthorizeUrl) ?? $"{baseUrl}/v1/authorize";
        options.TokenUrl = NullIfEmpty(options.TokenUrl) ?? $"{baseUrl}/v1/access_token";
        options.ApiUrl = (NullIfEmpty(options.ApiUrl) ?? baseUrl).TrimEnd('/');
        options.RedirectUri = NullIfEmpty(options.RedirectUri);
    }

    public ValidateOptionsResult Validate(string? name, WebexOptions options)
    {
        var errors = new List<string>();
        RequireAbsoluteHttpUrl(errors, "Webex:BaseUrl", options.BaseUrl);
        RequireAbsoluteHttpUrl(errors, "Webex:AuthorizeUrl", options.AuthorizeUrl);
        RequireAbsoluteHttpUrl(errors, "Webex:TokenUrl", options.TokenUrl);
        RequireAbsoluteHttpUrl(errors, "Webex:ApiUrl", options.ApiUrl);
        if (options.RedirectUri is not null)
        {
            RequireAbsoluteHttpUrl(errors, "Webex:RedirectUri", options.RedirectUri);
        }

        if (!environment.IsDevelopment())
        {
            if (string.IsNullOrWhiteSpace(options.ClientId))
            {
                errors.Add("Webex:ClientId is required outside Development.");
            }

            if (string.IsNullOrWhiteSpace(options.ClientSecret))
            {
                errors.Add("Webex:ClientSecret is required outside Development (set it in the environment as Webex__ClientSecret, or in user-secrets).");
            }

            if (options.RedirectUri is null)
            {
                errors.Add("Webex:RedirectUri is required outside Development (for example https://gateway.example.com/auth/callback).");
            }
        }

        if (!options.ScopeList.Any())
        {
            errors.Add("Webex:Scopes must name at least one scope.");
        }

        if (options.RefreshBeforeExpiry < TimeSpan.Zero)
        {
            errors.Add("Webex:RefreshBeforeExpiry must not be negative.");
        }

        if (options.TokenRequestTimeout <= TimeSpan.Zero)
        {
            errors.Add("Webex:TokenRequestTimeout must be positive.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void RequireAbsoluteHttpUrl(List<string> errors, string key, string? value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{key} must be an absolute http or https URL (got '{value}').");
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

internal sealed class RedisOptionsValidation : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrEmpty(options.KeyPrefix))
        {
            errors.Add("Redis:KeyPrefix must not be empty: every key the gateway writes starts with it.");
        }

        if (options.MemoryFallback < TimeSpan.Zero)
        {
            errors.Add("Redis:MemoryFallback must not be negative.");
        }

        if (options.WaitForReplicas < 0)
        {
            errors.Add($"Redis:WaitForReplicas must be 0 (do not wait) or a number of replicas (got {options.WaitForReplicas}).");
        }

        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            try
            {
                StackExchange.Redis.ConfigurationOptions.Parse(options.ConnectionString);
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                errors.Add($"Redis:ConnectionString is not valid StackExchange.Redis syntax: {e.Message}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class SessionLifetimeOptionsValidation : IValidateOptions<SessionLifetimeOptions>
{
    public ValidateOptionsResult Validate(string? name, SessionLifetimeOptions options)
    {
        var errors = new List<string>();
        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            errors.Add("Session:IdleTimeout must be positive.");
        }

        if (options.AbsoluteLifetime < options.IdleTimeout)
        {
            errors.Add("Session:AbsoluteLifetime must not be shorter than Session:IdleTimeout.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class KeyRingOptionsValidation : IValidateOptions<KeyRingOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyRingOptions options)
        => string.IsNullOrWhiteSpace(options.CertificatePath) || File.Exists(options.CertificatePath)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"DataProtection:CertificatePath names a file that does not exist ('{options.CertificatePath}').");
}

internal sealed class GatewayOptionsValidation : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        if (options.KeepAliveInterval <= TimeSpan.Zero)
        {
            errors.Add("Gateway:KeepAliveInterval must be positive.");
        }

        if (options.KeepAliveWindow <= options.KeepAliveInterval)
        {
            errors.Add("Gateway:KeepAliveWindow must be longer than Gateway:KeepAliveInterval, or a refresh token could lapse between two runs.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
