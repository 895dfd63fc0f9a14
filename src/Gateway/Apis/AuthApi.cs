using Microsoft.AspNetCore.Authentication;
using WebexGateway.Auth;
using WebexGateway.Grants;
using WebexGateway.Telemetry;

namespace WebexGateway.Apis;

/// <summary><c>/auth/*</c>: sign in, who am I, sign out. The callback is served by the OAuth handler itself.</summary>
public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/auth");
        auth.MapGet("/login", Login);
        auth.MapGet("/user", GetUserAsync);
        auth.MapPost("/logout", LogoutAsync).AddEndpointFilter(RequireCsrfHeader);
        return app;
    }

    private static IResult Login(string? returnUrl, GatewayMetrics metrics)
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

        return Results.Challenge(new AuthenticationProperties { RedirectUri = returnUrl }, [AuthExtensions.WebexScheme]);
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
