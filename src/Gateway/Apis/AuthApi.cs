using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Auth;
using WebexGateway.Extensions;
using WebexGateway.Grants;
using WebexGateway.Telemetry;

namespace WebexGateway.Apis;

/// <summary><c>/auth/*</c>: sign in, who am I, sign out. The callback is served by the OAuth handler itself.</summary>
public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/auth").RequireCors(GatewayCors.PolicyName);
        auth.MapGet("/login", LoginAsync);
        auth.MapGet("/user", GetUserAsync);
        auth.MapPost("/logout", LogoutAsync).AddEndpointFilter(RequireCsrfHeader);
        return app;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, string? returnUrl, string? scope, GatewayMetrics metrics,
        IOptions<WebexOptions> webex, GrantStore grants)
    {
        returnUrl ??= "/";
        if (!ReturnUrls.IsLocal(returnUrl))
        {
            metrics.Rejected("bad_input");
            return AuthResults.Page(
                StatusCodes.Status400BadRequest,
                "Invalid return address",
                "The returnUrl must be a path on this gateway, such as /app/. Links to other sites are refused.");
        }

        var allowed = webex.Value.AllowedScopeSet;
        var requested = (scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (requested.FirstOrDefault(s => !allowed.Contains(s)) is { } refused)
        {
            metrics.Rejected("bad_input");
            return AuthResults.Page(
                StatusCodes.Status400BadRequest,
                "Scope not allowed",
                $"This gateway may not ask Webex for the scope '{refused}'. Ask its operators to add it to Webex:AllowedScopes.");
        }

        // Incremental consent: the defaults, what the user already granted (so one app asking for more does not take away
        // what another app was granted), and what this login asks for.
        var scopes = webex.Value.ScopeList.ToList();
        if (context.Request.Cookies.Count > 0)
        {
            try
            {
                if (await SignedInGrantAsync(context, grants) is { } grant)
                {
                    scopes.AddRange(grant.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(allowed.Contains));
                }
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException)
            {
                // The store is down: ask for the defaults and what was requested; the callback needs the store anyway.
            }
        }

        scopes.AddRange(requested);
        return Results.Challenge(
            new OAuthChallengeProperties { RedirectUri = returnUrl, Scope = scopes.Distinct(StringComparer.Ordinal).ToList() },
            [AuthExtensions.WebexScheme]);
    }

    private static async Task<IResult> GetUserAsync(HttpContext context, GrantStore grants, GatewayMetrics metrics)
    {
        var grant = await SignedInGrantAsync(context, grants);
        if (grant is null)
        {
            metrics.Rejected("login_required");
            return AuthResults.LoginRequired(context);
        }

        GatewayTelemetry.TagUser(context, grant.PersonId);
        return Results.Json(new
            {
                id = grant.PersonId,
                displayName = grant.DisplayName,
                emails = grant.Emails,
                scopes = grant.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                accessTokenExpiresAt = grant.AccessTokenExpiresAt,
            });
    }

    private static async Task<IResult> LogoutAsync(HttpContext context, GrantStore grants, ILogger<GrantStore> logger)
    {
        var session = await context.AuthenticateAsync(AuthExtensions.CookieScheme);
        if (session.Principal?.GetPersonId() is { } personId)
        {
            await grants.DeleteAsync(personId);
            Log.SignedOut(logger);
        }

        // Deletes the server-side session, which ends it on every instance, and the cookie.
        await context.SignOutAsync(AuthExtensions.CookieScheme);

        return Results.NoContent();
    }

    /// <summary>The grant of the session's user, or null when there is no session or no grant.</summary>
    public static async Task<Grant?> SignedInGrantAsync(HttpContext context, GrantStore grants)
    {
        var session = await context.AuthenticateAsync(AuthExtensions.CookieScheme);
        return session.Principal?.GetPersonId() is { } personId ? await grants.GetAsync(personId) : null;
    }

    private static async ValueTask<object?> RequireCsrfHeader(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (AuthResults.HasCsrfHeader(context.HttpContext.Request))
        {
            return await next(context);
        }

        context.HttpContext.RequestServices.GetRequiredService<GatewayMetrics>().Rejected("csrf");
        return AuthResults.CsrfRequired();
    }
}
