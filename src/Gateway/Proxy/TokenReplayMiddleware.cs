using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Refusals;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// Puts the call's token on a Webex route and owns the whole 401 decision. A user's call has its body buffered (when
/// small enough) so that, when Webex answers 401, the grant is refreshed once and the same request sent again; YARP does
/// not retry by itself. A body that cannot be replayed is sent with a token refreshed first when it expires within
/// <c>Gateway:UploadRefreshWindow</c>. A bot's token cannot be refreshed, so Webex refusing it is a 502 that says so.
/// App routes (no <c>WebexToken</c> metadata) pass through untouched.
/// </summary>
public sealed class TokenReplayMiddleware(
    RequestDelegate next,
    WebexTokenSource tokens,
    RefreshCoordinator refresher,
    IOptions<GatewayOptions> gateway,
    TimeProvider time,
    GatewayMetrics metrics,
    ILogger<TokenReplayMiddleware> logger)
{
    private readonly long _maxReplayBodyBytes = gateway.Value.MaxReplayBodyBytes;
    private readonly TimeSpan _uploadRefreshWindow = gateway.Value.UploadRefreshWindow;

    public Task InvokeAsync(HttpContext context)
    {
        var route = RouteToken.Of(context.GetReverseProxyFeature().Route);
        if (!route.SendsWebexToken)
        {
            return next(context);
        }

        // A cached session and grant answer at once: the call then goes on without a state machine of its own here.
        var token = tokens.GetAsync(context, route);
        return token.IsCompletedSuccessfully ? CallAsync(context, token.Result) : AwaitTokenAsync(context, token);
    }

    private async Task AwaitTokenAsync(HttpContext context, ValueTask<CallToken> token) => await CallAsync(context, await token);

    private Task CallAsync(HttpContext context, CallToken token) => token switch
    {
        CallToken.User user => UserCallAsync(context, user.Grant, user.Authorization),
        CallToken.Bot bot => BotCallAsync(context, bot),
        CallToken.Unavailable unavailable => unavailable.Refusal.ExecuteAsync(context),
        _ => Refuse.LoginRequired(context).ExecuteAsync(context),
    };

    private async Task UserCallAsync(HttpContext context, Grant grant, string? authorization)
    {
        var replayable = await BufferBodyForReplayAsync(context.Request);
        if (!replayable && grant.AccessTokenExpiresWithin(_uploadRefreshWindow, time.GetUtcNow()))
        {
            // A 401 after a long upload could not be answered by a replay: do not start it with a token about to lapse.
            Log.RefreshingBeforeUpload(logger, grant.AccessTokenExpiresAt);
            switch (await tokens.RefreshedAsync(grant, context.RequestAborted))
            {
                case CallToken.User refreshed:
                    grant = refreshed.Grant;
                    authorization = refreshed.Authorization;
                    break;
                case CallToken.Unavailable unavailable:
                    await unavailable.Refusal.ExecuteAsync(context);
                    return;
                default:
                    await Refuse.LoginRequired(context).ExecuteAsync(context);
                    return;
            }
        }

        var call = new WebexCall(grant.AccessToken, holdBackUnauthorized: replayable, authorization)
        {
            PersonId = grant.PersonId,
            Caller = grant.PersonId,
        };
        context.Features.Set(call);
        await next(context);
        if (context.Response.StatusCode != StatusCodes.Status401Unauthorized)
        {
            return;
        }

        if (call.HoldBackUnauthorized)
        {
            await ReplayAsync(context, grant.PersonId, call);
        }
        else
        {
            // The body could not be replayed and the 401 went to the client: refresh now, so its own retry succeeds.
            metrics.Replay("not_replayable");
            Log.NotReplayable(logger);
            await refresher.RefreshAsync(grant.PersonId, call.AccessToken, RefreshTrigger.Unauthorized, context.RequestAborted);
        }
    }

    private async Task ReplayAsync(HttpContext context, string personId, WebexCall call)
    {
        var outcome = await refresher.RefreshAsync(personId, call.AccessToken, RefreshTrigger.Unauthorized, context.RequestAborted);
        context.Response.Clear();
        switch (outcome.Status)
        {
            case RefreshStatus.Refreshed:
                Log.Replaying(logger);
                call.AccessToken = outcome.Grant!.AccessToken;
                call.HoldBackUnauthorized = false;
                if (context.Request.Body.CanSeek)
                {
                    context.Request.Body.Position = 0;
                }

                using (var replay = GatewayTelemetry.ActivitySource.StartActivity("webex.replay"))
                {
                    await next(context);
                    var replayed = context.Response.StatusCode == StatusCodes.Status401Unauthorized ? "still_unauthorized" : "succeeded";
                    replay?.SetTag("webex_gateway.replay.outcome", replayed);
                    metrics.Replay(replayed);
                }

                break;
            case RefreshStatus.LoginRequired:
                metrics.Replay("login_required");
                await Refuse.LoginRequired(context).ExecuteAsync(context);
                break;
            default:
                metrics.Replay("failed");
                await Refuse.RefreshFailed(outcome.Failure).ExecuteAsync(context);
                break;
        }
    }

    private async Task BotCallAsync(HttpContext context, CallToken.Bot bot)
    {
        // Webex counts a bot's calls against the bot's token, whoever made them: its cool-downs are the bot's.
        context.Features.Set(new WebexCall(bot.AccessToken, holdBackUnauthorized: true) { PersonId = bot.PersonId, Caller = "bot:" + bot.Name });
        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            context.Response.Clear();
            Log.BotTokenRejected(logger, bot.Name);
            await Refuse.BotTokenInvalid(bot.Name).ExecuteAsync(context);
        }
    }

    /// <summary>Buffers a body of known, small enough length so it can be sent twice. Chunked or large bodies stream once.</summary>
    private async ValueTask<bool> BufferBodyForReplayAsync(HttpRequest request)
    {
        var length = request.ContentLength;
        if (length is null)
        {
            // No Content-Length: a body-less request can be replayed, a chunked one cannot.
            foreach (var value in request.Headers.TransferEncoding)
            {
                if (value?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
                {
                    return false;
                }
            }

            return true;
        }

        if (length == 0)
        {
            return true;
        }

        if (length > _maxReplayBodyBytes)
        {
            return false;
        }

        request.EnableBuffering(bufferThreshold: (int)Math.Min(length.Value, 64 * 1024), bufferLimit: length.Value);
        await request.Body.DrainAsync(request.HttpContext.RequestAborted);
        request.Body.Position = 0;
        return true;
    }
}
