using System.Diagnostics;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using WebexGateway.Apis;
using WebexGateway.Auth;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// Runs inside the proxy pipeline of a user-token route: checks the CSRF header, the session and the grant,
/// refreshes a token about to expire, and when Webex answers 401 refreshes once and sends the same request again.
/// YARP does not retry by itself; this is the retry, with the body buffered so it can be sent twice.
/// On a bot route it checks the CSRF header and the session (unless the route is public) and sends the configured bot
/// token: never refreshed, never replayed, and Webex refusing it is a 502 that says so.
/// App routes (no <c>WebexToken</c> metadata) pass through untouched.
/// </summary>
public sealed class UserTokenMiddleware(
    RequestDelegate next,
    GrantStore grants,
    RefreshCoordinator refresher,
    TimeProvider time,
    IOptions<WebexOptions> webex,
    IOptions<GatewayOptions> gateway,
    GatewayMetrics metrics,
    ILogger<UserTokenMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var token = RouteToken.Of(context.GetReverseProxyFeature().Route);
        if (!token.SendsWebexToken)
        {
            await next(context);
            return;
        }

        if (token.Kind == RouteTokenKind.Bot)
        {
            await BotCallAsync(context, token);
            return;
        }

        if (!await PassesRequestChecksAsync(context))
        {
            return;
        }

        Grant? grant;
        using (GatewayTelemetry.ActivitySource.StartActivity("grant.lookup"))
        {
            grant = await AuthApi.SignedInGrantAsync(context, grants);
        }

        if (grant is null)
        {
            metrics.Rejected("login_required");
            await AuthResults.LoginRequired(context).ExecuteAsync(context);
            return;
        }

        GatewayTelemetry.TagUser(context, grant.PersonId);

        if (grant.AccessTokenExpiresWithin(webex.Value.RefreshBeforeExpiry, time.GetUtcNow()))
        {
            var outcome = await refresher.RefreshAsync(grant.PersonId, grant.AccessToken, RefreshTrigger.Expiry, context.RequestAborted);
            switch (outcome.Status)
            {
                case RefreshStatus.Refreshed:
                    grant = outcome.Grant!;
                    break;
                case RefreshStatus.LoginRequired:
                    metrics.Rejected("login_required");
                    await AuthResults.LoginRequired(context).ExecuteAsync(context);
                    return;
                case RefreshStatus.Unavailable when grant.AccessTokenExpiresAt > time.GetUtcNow():
                    // The old token still works: use it rather than fail the request.
                    break;
                default:
                    await AuthResults.RefreshFailed(outcome).ExecuteAsync(context);
                    return;
            }
        }

        var canReplay = await BufferBodyForReplayAsync(context.Request);
        var call = new WebexCall(grant.PersonId, grant.AccessToken, canReplay);
        context.Features.Set(call);

        await next(context);

        if (call.UnauthorizedHeldBack)
        {
            await ReplayAsync(context, call);
        }
        else if (call.UnauthorizedPassedOn && call.Attempt == 1)
        {
            // The body could not be replayed: refresh now, so the client's own retry succeeds.
            metrics.Replay("not_replayable");
            Log.NotReplayable(logger);
            await refresher.RefreshAsync(call.PersonId, call.AccessToken, RefreshTrigger.Unauthorized, context.RequestAborted);
        }
    }

    /// <summary>The CSRF header and a path without dot segments; false when the request was answered.</summary>
    private async Task<bool> PassesRequestChecksAsync(HttpContext context, bool requireCsrf = true)
    {
        if (requireCsrf && !AuthResults.HasCsrfHeader(context.Request))
        {
            metrics.Rejected("csrf");
            await AuthResults.CsrfRequired().ExecuteAsync(context);
            return false;
        }

        if (UpstreamPaths.HasDotSegment(context))
        {
            metrics.Rejected("bad_input");
            await Results.Json(
                    new { error = "bad_request", message = "Paths of Webex routes must not contain '.' or '..' segments." },
                    statusCode: StatusCodes.Status400BadRequest)
                .ExecuteAsync(context);
            return false;
        }

        return true;
    }

    private async Task BotCallAsync(HttpContext context, RouteToken token)
    {
        if (!await PassesRequestChecksAsync(context, requireCsrf: !token.IsPublic))
        {
            return;
        }

        var personId = "";
        if (!token.IsPublic)
        {
            var session = await context.AuthenticateAsync(AuthExtensions.CookieScheme);
            if (session.Principal?.GetPersonId() is not { } signedIn)
            {
                metrics.Rejected("login_required");
                await AuthResults.LoginRequired(context).ExecuteAsync(context);
                return;
            }

            personId = signedIn;
            GatewayTelemetry.TagUser(context, personId);
        }

        // Start-up validation guarantees the token is configured.
        var call = new WebexCall(personId, webex.Value.BotToken(token.BotName!)!, canReplay: false) { BotName = token.BotName };
        context.Features.Set(call);

        await next(context);

        if (call.UnauthorizedHeldBack)
        {
            // A bot token does not expire and cannot be refreshed: Webex refusing it is the gateway's misconfiguration.
            context.Response.Clear();
            metrics.Rejected("bot_token_invalid");
            Log.BotTokenRejected(logger, call.BotName!);
            await Results.Json(
                    new
                    {
                        error = "bot_token_invalid",
                        message = $"Webex rejected the token of the bot '{call.BotName}': it is invalid or was revoked. Ask the gateway's operators to check Webex:Bots:{call.BotName}:Token.",
                    },
                    statusCode: StatusCodes.Status502BadGateway)
                .ExecuteAsync(context);
        }
    }

    private async Task ReplayAsync(HttpContext context, WebexCall call)
    {
        var outcome = await refresher.RefreshAsync(call.PersonId, call.AccessToken, RefreshTrigger.Unauthorized, context.RequestAborted);
        context.Response.Clear();
        switch (outcome.Status)
        {
            case RefreshStatus.Refreshed:
                Log.Replaying(logger);
                call.AccessToken = outcome.Grant!.AccessToken;
                call.Attempt = 2;
                call.UnauthorizedHeldBack = false;
                if (context.Request.Body.CanSeek)
                {
                    context.Request.Body.Position = 0;
                }

                using (var replay = GatewayTelemetry.ActivitySource.StartActivity("webex.replay"))
                {
                    await next(context);
                    var outcomeName = call.UnauthorizedPassedOn ? "still_unauthorized" : "succeeded";
                    replay?.SetTag("webex_gateway.replay.outcome", outcomeName);
                    metrics.Replay(outcomeName);
                }

                break;
            case RefreshStatus.LoginRequired:
                metrics.Replay("login_required");
                metrics.Rejected("login_required");
                await AuthResults.LoginRequired(context).ExecuteAsync(context);
                break;
            default:
                metrics.Replay("failed");
                await AuthResults.RefreshFailed(outcome).ExecuteAsync(context);
                break;
        }
    }

    /// <summary>Buffers a body of known, small enough length so it can be sent twice. Chunked or large bodies stream once.</summary>
    private async Task<bool> BufferBodyForReplayAsync(HttpRequest request)
    {
        var length = request.ContentLength;
        if (length is null)
        {
            // No Content-Length: a body-less request can be replayed, a chunked one cannot.
            return !request.Headers.TransferEncoding.Any(v => v?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true);
        }

        if (length == 0)
        {
            return true;
        }

        if (length > gateway.Value.MaxReplayBodyBytes)
        {
            return false;
        }

        request.EnableBuffering(bufferThreshold: (int)Math.Min(length.Value, 64 * 1024), bufferLimit: length.Value);
        await request.Body.DrainAsync(request.HttpContext.RequestAborted);
        request.Body.Position = 0;
        return true;
    }
}
