using Microsoft.Extensions.Options;
using WebexGateway.Auth;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Refusals;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Proxy;

/// <summary>
/// Answers one question for a call on a Webex route: what Bearer does it carry? A user route carries the session's
/// grant, refreshed first when it expires within <c>Webex:RefreshBeforeExpiry</c>; a bot route carries the bot's token,
/// and unless it is public, only for a signed-in person who still has a grant.
/// </summary>
public sealed class WebexTokenSource(
    SignedInGrants signedIn,
    RefreshCoordinator refresher,
    TimeProvider time,
    IOptions<WebexOptions> webex,
    GatewayMetrics metrics,
    ILogger<WebexTokenSource> logger)
{
    private static readonly CallToken LoginRequired = new CallToken.LoginRequired();

    public async ValueTask<CallToken> GetAsync(HttpContext context, RouteToken route)
    {
        try
        {
            if (route.Kind == RouteTokenKind.Bot && route.IsPublic)
            {
                return BotToken(route);
            }

            VerifiedGrant? verified;
            using (GatewayTelemetry.ActivitySource.StartActivity("grant.lookup"))
            {
                verified = await signedIn.FindAsync(context);
            }

            if (verified is null)
            {
                return LoginRequired;
            }

            var grant = verified.Grant;

            GatewayTelemetry.TagUser(context, grant.PersonId);
            if (route.Kind == RouteTokenKind.Bot)
            {
                return BotToken(route, grant.PersonId);
            }

            return grant.AccessTokenExpiresWithin(webex.Value.RefreshBeforeExpiry, time.GetUtcNow())
                ? await RefreshedAsync(grant, context.RequestAborted)
                : new CallToken.User(grant, verified.Authorization);
        }
        catch (Exception e) when (StoreUnavailableHandler.StoreErrorIn(e) is { } storeError)
        {
            metrics.RedisError("request");
            Log.StoreUnavailable(logger, storeError.GetType().Name);
            return new CallToken.Unavailable(Refuse.StoreUnavailable);
        }
    }

    // Start-up validation guarantees the bot's token is configured.
    private CallToken BotToken(RouteToken route, string? personId = null) =>
        new CallToken.Bot(route.BotName!, webex.Value.BotToken(route.BotName!)!, personId);

    /// <summary>The grant refreshed now (through the single flight), or why it cannot be used.</summary>
    public async Task<CallToken> RefreshedAsync(Grant grant, CancellationToken cancellationToken)
    {
        var outcome = await refresher.RefreshAsync(grant.PersonId, grant.AccessToken, RefreshTrigger.Expiry, cancellationToken);
        return outcome.Status switch
        {
            RefreshStatus.Refreshed => new CallToken.User(outcome.Grant!),
            RefreshStatus.LoginRequired => LoginRequired,
            // The old token still works: use it rather than fail the request.
            RefreshStatus.Unavailable when grant.AccessTokenExpiresAt > time.GetUtcNow() => new CallToken.User(grant),
            _ => new CallToken.Unavailable(Refuse.RefreshFailed(outcome.Failure)),
        };
    }
}
