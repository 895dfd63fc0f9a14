using Microsoft.Extensions.Options;
using WebexGateway.Proxy;

namespace WebexGateway.Configuration;

/// <summary>Derives the Webex URLs from <c>Webex:BaseUrl</c> and checks every key at start-up.</summary>
internal sealed class WebexOptionsSetup(IHostEnvironment environment, IConfiguration configuration)
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

        foreach (var (bot, settings) in options.Bots)
        {
            if (string.IsNullOrWhiteSpace(settings?.Token))
            {
                errors.Add($"Webex:Bots:{bot}:Token is empty: give the bot's access token (in the environment as Webex__Bots__{bot}__Token, or in user-secrets), or remove the bot.");
            }
        }

        ValidateRoutes(errors, options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// Every route's <c>WebexToken</c>, <c>Public</c> and <c>Allow</c> metadata: a known value, a configured bot, a
    /// well-formed allow-list on bot routes only, and for a Webex route a path of the form <c>/prefix/{**path}</c> (see
    /// <see cref="UpstreamPath"/> for how the prefix makes Webex's path).
    /// </summary>
    private void ValidateRoutes(List<string> errors, WebexOptions options)
    {
        foreach (var route in configuration.GetSection("ReverseProxy:Routes").GetChildren())
        {
            var key = $"ReverseProxy:Routes:{route.Key}";
            var metadata = route.GetSection("Metadata");
            if (!RouteToken.TryParse(metadata[RouteToken.TokenMetadataKey], metadata[RouteToken.PublicMetadataKey], out var token, out var error))
            {
                errors.Add($"{key}:Metadata: {error}");
                continue;
            }

            if (!BotAllowList.TryParse(metadata[BotAllowList.MetadataKey], token, out _, out var allowError))
            {
                errors.Add($"{key}:Metadata:{BotAllowList.MetadataKey}: {allowError}");
            }

            if (!token.SendsWebexToken)
            {
                continue;
            }

            if (RouteToken.PrefixOf(route["Match:Path"]) is null)
            {
                errors.Add($"{key}:Match:Path must be a path prefix and a catch-all, such as '/webex/{{**path}}' (got '{route["Match:Path"]}').");
            }

            if (token.Kind == RouteTokenKind.Bot && string.IsNullOrWhiteSpace(options.BotToken(token.BotName!)))
            {
                errors.Add($"{key}:Metadata:WebexToken names the bot '{token.BotName}', but Webex:Bots:{token.BotName}:Token is not configured.");
            }
        }
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

        if (options.CacheLifetime <= TimeSpan.Zero || options.CacheLifetime > TimeSpan.FromHours(1))
        {
            errors.Add($"Redis:CacheLifetime must be more than zero and at most one hour (got {options.CacheLifetime}).");
        }

        if (options.CacheLifetimeWhileSubscribed <= TimeSpan.Zero || options.CacheLifetimeWhileSubscribed > TimeSpan.FromDays(1))
        {
            errors.Add($"Redis:CacheLifetimeWhileSubscribed must be more than zero and at most a day (got {options.CacheLifetimeWhileSubscribed}).");
        }

        if (options.WaitForReplicas < 0)
        {
            errors.Add($"Redis:WaitForReplicas must be 0 (do not wait) or a number of replicas (got {options.WaitForReplicas}).");
        }

        if (!string.IsNullOrWhiteSpace(options.CaCertificatePath))
        {
            try
            {
                using var _ = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(options.CaCertificatePath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                errors.Add($"Redis:CaCertificatePath must name a readable certificate file, PEM or DER ('{options.CaCertificatePath}': {e.Message})");
            }
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

internal sealed class GatewayOptionsValidation(IHostEnvironment environment) : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        foreach (var (app, settings) in options.StaticApps)
        {
            if (!settings.RequestPath.StartsWith('/') || settings.RequestPath.Length < 2 || settings.RequestPath.EndsWith('/')
                || settings.RequestPath.StartsWith("/webex", StringComparison.OrdinalIgnoreCase) || settings.RequestPath.StartsWith("/auth", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"Gateway:StaticApps:{app}:RequestPath must be a path such as /apps/{app}, not ending in '/' and not under /webex or /auth (got '{settings.RequestPath}').");
            }

            if (!Directory.Exists(Path.GetFullPath(settings.Folder, environment.ContentRootPath)))
            {
                errors.Add($"Gateway:StaticApps:{app}:Folder names a folder that does not exist ('{settings.Folder}').");
            }
        }

        if (options.MaxUploadBytes <= 0)
        {
            errors.Add($"Gateway:MaxUploadBytes must be a positive number of bytes, such as 104857600 (100 MiB, Webex's limit) (got {options.MaxUploadBytes}).");
        }

        if (options.UploadRefreshWindow < TimeSpan.Zero || options.UploadRefreshWindow > TimeSpan.FromDays(1))
        {
            errors.Add($"Gateway:UploadRefreshWindow must be between 00:00:00 and 1.00:00:00, such as 02:00:00 (got {options.UploadRefreshWindow}).");
        }

        if (options.KeepAliveInterval <= TimeSpan.Zero)
        {
            errors.Add("Gateway:KeepAliveInterval must be positive.");
        }

        if (options.KeepAliveWindow <= options.KeepAliveInterval)
        {
            errors.Add("Gateway:KeepAliveWindow must be longer than Gateway:KeepAliveInterval, or a refresh token could lapse between two runs.");
        }

        foreach (var origin in options.AllowedOrigins)
        {
            if (origin.Trim() == "*")
            {
                errors.Add("Gateway:AllowedOrigins must not contain '*': credentials (the session cookie) cannot be allowed for every origin. List each frontend's origin, such as https://app.example.com.");
            }
            else if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                     || !string.Equals(uri.GetLeftPart(UriPartial.Authority), origin.TrimEnd('/'), StringComparison.OrdinalIgnoreCase) || origin.Contains('*'))
            {
                errors.Add($"Gateway:AllowedOrigins must hold origins: scheme, host and port only, such as https://app.example.com (got '{origin}').");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
