using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Webex.Emulator.Endpoints;

namespace Webex.Emulator.Internal;

/// <summary>Every request goes through here: tracking id, OAuth or API dispatch, and a last-resort error mapping.</summary>
internal sealed class RequestPipeline(EmulatorState state, CancellationToken stopping)
{
    private const int RecordedBodyLimit = 1024 * 1024;

    private readonly Router _oauth = new Router()
        .Map(HttpMethods.Get, "v1/authorize", AuthorizeEndpoints.AuthorizeAsync)
        .Map(HttpMethods.Post, "v1/authorize/decision", AuthorizeEndpoints.DecisionAsync)
        .Map(HttpMethods.Post, "v1/access_token", TokenEndpoint.HandleAsync);

    private readonly Router _api = MapApi(new Router());

    public async Task HandleAsync(HttpContext context)
    {
        WebexErrors.AssignTrackingId(context);
        try
        {
            var segments = RawPath.Segments(context);
            if (segments is ["v1", "authorize", ..] or ["v1", "access_token", ..])
            {
                await DispatchAsync(_oauth, context, segments);
            }
            else if (segments is ["v1", ..])
            {
                await HandleApiAsync(context, segments);
            }
            else
            {
                // Recorded too, so a test sees every request that reached the emulator, even outside the API's paths.
                await RecordAsync(context);
                await WebexErrors.NotFoundAsync(context);
            }
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (or the connection was dropped on purpose): nobody is listening.
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            await WebexErrors.WriteAsync(context, ex.StatusCode, "The request could not be read.", ex.Message);
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            WebexErrors.AssignTrackingId(context);
            await WebexErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "An unexpected error occurred in the Webex emulator.", ex.Message);
        }
    }

    private static Router MapApi(Router router)
    {
        PeopleEndpoints.Map(router);
        RoomsEndpoints.Map(router);
        MessagesEndpoints.Map(router);
        ContentsEndpoints.Map(router);
        MembershipsEndpoints.Map(router);
        WebhooksEndpoints.Map(router);
        return router;
    }

    private async Task HandleApiAsync(HttpContext context, IReadOnlyList<string> segments)
    {
        if (MessagesEndpoints.IsUpload(context.Request, segments)
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MessagesEndpoints.MaxUploadRequestBytes;
        }

        // Recorded before any check, so tests see exactly what the client sent even when it is rejected.
        await RecordAsync(context);

        if (state.TryConsumeRateLimit())
        {
            await WebexErrors.TooManyRequestsAsync(context);
            return;
        }

        if (Caller(context) is not ({ } caller, { } grant))
        {
            await WebexErrors.UnauthorizedAsync(context);
            return;
        }

        if (segments.Count >= 2 && state.TryConsumeRateLimit(caller.Id, segments[0] + "/" + segments[1], out var retryAfter))
        {
            await WebexErrors.TooManyRequestsAsync(context, retryAfter);
            return;
        }

        await DispatchAsync(_api, context, segments, caller, grant);
    }

    private async Task RecordAsync(HttpContext context)
    {
        // Kept in memory up to the limit, in a temporary file above it (a file upload), and rewound for the endpoint.
        context.Request.EnableBuffering(RecordedBodyLimit);
        var buffered = context.Request.Body;
        await buffered.CopyToAsync(Stream.Null, context.RequestAborted);
        var length = buffered.Length;
        byte[] body = [];
        if (length <= RecordedBodyLimit)
        {
            buffered.Position = 0;
            body = new byte[length];
            await buffered.ReadExactlyAsync(body, context.RequestAborted);
        }

        buffered.Position = 0;
        state.Record(new RecordedRequest(context.Request.Method, RawPath.RawTarget(context), Headers(context.Request.Headers).AsReadOnly(), body) { BodyLength = length });
    }

    private async Task DispatchAsync(Router router, HttpContext context, IReadOnlyList<string> segments, WebexPerson? caller = null, TokenGrant? grant = null)
    {
        var route = router.Resolve(context.Request.Method, segments);
        if (route.Handler is not null)
        {
            await route.Handler(new RequestContext(context, state, route.Args, stopping, caller, grant));
        }
        else if (route.AllowedMethods.Count > 0)
        {
            await WebexErrors.MethodNotAllowedAsync(context, route.AllowedMethods);
        }
        else
        {
            await WebexErrors.NotFoundAsync(context);
        }
    }

    /// <summary>The person whose valid access token the request carries, and its grant; nulls when it carries none.</summary>
    private (WebexPerson? Person, TokenGrant? Grant) Caller(HttpContext context)
    {
        var header = context.Request.Headers.Authorization;
        if (header.Count != 1 || header[0] is not { } value || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (null, null);
        }

        var token = value["Bearer ".Length..].Trim();
        return token.Length > 0 && state.OAuth.AccessTokenGrant(token) is { } grant ? (state.Data.GetPerson(grant.PersonId), grant) : (null, null);
    }

    private static Dictionary<string, string> Headers(IHeaderDictionary headers)
    {
        var copy = new Dictionary<string, string>(headers.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in headers)
        {
            copy[name] = string.Join(",", values.ToArray());
        }

        return copy;
    }
}
