using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Auth;
using WebexGateway.Apps;
using WebexGateway.Grants;
using WebexGateway.Refusals;
using WebexGateway.Storage;
using WebexGateway.Telemetry;
using WebexGateway.Webhooks;

namespace WebexGateway.Apis;

/// <summary><c>/auth/*</c>: sign in, who am I, sign out. The callback is served by the OAuth handler itself.</summary>
public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/auth").RequireCors(GatewayCors.PolicyName);
        auth.MapGet("/login", LoginAsync).RequireRateLimiting(SignInLimits.StartPolicy);
        auth.MapGet("/user", GetUserAsync);
        auth.MapPost("/logout", LogoutAsync).AddEndpointFilter(RequireCsrfHeader);
        return app;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, string? returnUrl, string? scope, GatewayMetrics metrics,
        IOptions<WebexOptions> webex, SignedInGrants signedIn)
    {
        // Encoded here, so the callback, after the code was spent, can always write it as its Location.
        var location = ReturnUrls.ToLocation(returnUrl ?? "/");
        if (location is null)
        {
            metrics.Rejected("bad_input");
            return AuthPages.Page(
                StatusCodes.Status400BadRequest,
                "Invalid return address",
                "The returnUrl must be a path on this gateway, such as /app/. Links to other sites are refused.");
        }

        var allowed = webex.Value.AllowedScopeSet;
        var requested = (scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (requested.FirstOrDefault(s => !allowed.Contains(s)) is { } refused)
        {
            metrics.Rejected("bad_input");
            return AuthPages.Page(
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
                if (await signedIn.GetAsync(context) is { } grant)
                {
                    scopes.AddRange(grant.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(allowed.Contains));
                }
            }
            catch (Exception e) when (StoreUnavailableHandler.IsStoreUnavailable(e))
            {
                // The store is down: ask for the defaults and what was requested; the callback needs the store anyway.
            }
        }

        scopes.AddRange(requested);
        return Results.Challenge(
            new OAuthChallengeProperties { RedirectUri = location, Scope = scopes.Distinct(StringComparer.Ordinal).ToList() },
            [AuthExtensions.WebexScheme]);
    }

    /// <summary>Leaves <c>liveEvents</c> out while live events are off.</summary>
    private static readonly System.Text.Json.JsonSerializerOptions OmitNulls = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private static async Task<IResult> GetUserAsync(HttpContext context, SignedInGrants signedIn, WebhookLifecycle webhooks)
    {
        var grant = await signedIn.GetAsync(context);
        if (grant is null)
        {
            return Refuse.LoginRequired(context);
        }

        GatewayTelemetry.TagUser(context, grant.PersonId);
        var subscriptions = webhooks.SubscriptionsOf(grant);
        return Results.Json(new
            {
                id = grant.PersonId,
                displayName = grant.DisplayName,
                emails = grant.Emails,
                scopes = grant.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                accessTokenExpiresAt = grant.AccessTokenExpiresAt,
                liveEvents = subscriptions is null ? null : new
                {
                    subscribed = subscriptions.Subscribed.Select(p => p.ToString()),
                    skipped = subscriptions.Skipped.Select(p => new { @event = p.ToString(), missingScope = p.ReadScope }),
                },
            },
            OmitNulls);
    }

    private static async Task<IResult> LogoutAsync(HttpContext context, SignedInGrants signedIn, GrantStore grants, RedisTicketStore sessions,
        ILogger<GrantStore> logger)
    {
        // A live session ends its person's grant and every session of theirs, on every instance. A session some earlier
        // logout already ended (its grant is gone or another sign-in's) ends only itself.
        if (await signedIn.GetAsync(context) is { } grant)
        {
            await grants.DeleteAsync(grant.PersonId, grant);
            Log.SignedOut(logger, await sessions.RemoveAllOfAsync(grant.PersonId));
        }

        // Deletes this server-side session, which ends it on every instance, and the cookie.
        await context.SignOutAsync(AuthExtensions.CookieScheme);

        return Results.NoContent();
    }

    private static async ValueTask<object?> RequireCsrfHeader(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        return CsrfHeader.IsPresent(context.HttpContext.Request) ? await next(context) : Refuse.CsrfRequired;
    }
}
