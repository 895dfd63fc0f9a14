using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using WebexGateway.Apps;
using WebexGateway.Auth;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Refusals;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Events;

/// <summary>
/// <c>GET /events</c>: the signed-in person's live events as Server-Sent Events. Each event is written once per stream,
/// in log order: a stream hears the fan-out from before it reads the log, and skips every position it has written.
/// A comment every <see cref="KeepAliveInterval"/> keeps proxies from closing it; at the same beat it checks its session,
/// renews its slot and reads the log for anything the fan-out did not bring (a lost publication, a store that was away).
/// </summary>
public sealed class EventStreamEndpoint(
    SignedInGrants signedIn,
    GrantStore grants,
    RedisTicketStore sessions,
    SessionCookies sessionCookies,
    WebSocketOrigins origins,
    EventFanOut fanOut,
    StreamSlots slots,
    PersonEvents events,
    GatewayMetrics metrics,
    IOptions<SessionLifetimeOptions> sessionLifetime,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<EventStreamEndpoint> logger)
{
    public const string Path = "/events";

    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    /// <summary>How long a browser waits before reconnecting a dropped stream.</summary>
    private const int RetryMilliseconds = 3000;

    private static readonly byte[] KeepAliveComment = ": keep-alive\n\n"u8.ToArray();
    private static readonly byte[] SessionEndedData = "{}"u8.ToArray();

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        // An EventSource cannot send X-CSRF, so the cookie alone opens the stream: another site's page may not.
        if (IsFromAnotherSite(request) && !(request.Headers.Origin.Count == 1 && origins.Allows(request)))
        {
            await Refuse.EventsOriginNotAllowed.ExecuteAsync(context);
            return;
        }

        if (await signedIn.GetAsync(context) is not { } grant || sessionCookies.SessionIdOf(context) is not { } sessionId)
        {
            await Refuse.LoginRequired(context).ExecuteAsync(context);
            return;
        }

        // Store errors from here until the stream starts are the exception handler's 503.
        var personId = grant.PersonId;
        await fanOut.SubscribeAsync();
        var streamId = Guid.NewGuid().ToString("N");
        if (!await slots.TakeAsync(personId, streamId))
        {
            await Refuse.TooManyStreams(slots.Max).ExecuteAsync(context);
            return;
        }

        var stream = fanOut.Open(personId);
        metrics.EventStreamOpened();
        try
        {
            var current = await events.PositionAsync(personId);
            // A Last-Event-ID beyond the log's newest position is not one of this person's: the stream starts now.
            var from = LastEventId(request) is { } resumed && resumed <= current ? resumed : current;
            var backlog = from < current ? await events.ReadAfterAsync(personId, from) : [];

            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache, no-store";
            response.Headers["X-Accel-Buffering"] = "no";
            context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
            var session = new StreamSession(personId, sessionId, grant.Generation, streamId);
            Log.EventStreamOpened(logger, from);
            await SseFormatter.WriteAsync(Items(context, stream, session, from, backlog, context.RequestAborted), response.Body, Write, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The browser went away.
        }
        finally
        {
            fanOut.Close(stream);
            metrics.EventStreamClosed();
            try
            {
                await slots.ReleaseAsync(personId, streamId);
            }
            catch (Exception e) when (StoreUnavailableHandler.IsStoreUnavailable(e))
            {
                // The slot lapses by itself.
            }
        }
    }

    private static bool IsFromAnotherSite(HttpRequest request) =>
        request.Headers["Sec-Fetch-Site"].ToString() is "cross-site" or "same-site";

    /// <summary>
    /// The <c>Last-Event-ID</c> header a browser sends when it reconnects by itself, else the <c>lastEventId</c> query a
    /// page sends when it opens a stream anew (an EventSource cannot set the header). Digits only: anything else is no
    /// position, and the stream starts now.
    /// </summary>
    private static long? LastEventId(HttpRequest request)
    {
        var values = request.Headers["Last-Event-ID"];
        if (values.Count == 0)
        {
            values = request.Query["lastEventId"];
        }

        return values is [{ Length: > 0 and <= 18 } value]
               && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var position)
            ? position
            : null;
    }

    private static void Write(SseItem<LoggedEvent?> item, IBufferWriter<byte> writer) =>
        writer.Write(item.Data?.Json ?? SessionEndedData);

    private async IAsyncEnumerable<SseItem<LoggedEvent?>> Items(HttpContext context, EventStream stream, StreamSession session,
        long last, IReadOnlyList<LoggedEvent> backlog, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Each beat is timed before the frame ahead of it is written: a clock moved once that frame has arrived moves the beat.
        var keepAlive = Task.Delay(KeepAliveInterval, time, cancellationToken);
        // An id without data moves the browser's Last-Event-ID to where this stream starts without raising an event,
        // so a reconnect before the first event resumes from here too.
        await WriteRawAsync(context, Encoding.ASCII.GetBytes($"retry: {RetryMilliseconds}\nid: {last}\n\n"), cancellationToken);
        var batch = backlog;
        var fromLog = true;
        var ended = Task.Delay(Timeout.Infinite, stream.Ended);
        // An instance going down ends its streams at once rather than holding its shutdown: the browsers reconnect
        // elsewhere with Last-Event-ID.
        // Its own source, so a closed stream leaves no registration behind on the application's token.
        using var stoppingSource = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        var stopping = Task.Delay(Timeout.Infinite, stoppingSource.Token);
        Task<bool>? heard = null;
        while (true)
        {
            foreach (var loggedEvent in batch)
            {
                if (loggedEvent.Position <= last)
                {
                    continue;
                }

                // The log has no gaps but a trimmed start; the fan-out alone may: publications from two instances can
                // cross. What follows the gap was taken from the channel already, so the log gives all of it, now.
                if (!fromLog && loggedEvent.Position != last + 1)
                {
                    stream.CatchUp();
                    break;
                }

                last = loggedEvent.Position;
                var delivery = StartDelivery(loggedEvent, session);
                yield return new SseItem<LoggedEvent?>(loggedEvent, loggedEvent.Type) { EventId = last.ToString(CultureInfo.InvariantCulture) };
                metrics.EventDelivered(loggedEvent.ReceivedAt == DateTimeOffset.MinValue ? null : time.GetUtcNow() - loggedEvent.ReceivedAt);
                delivery?.Dispose();
            }

            heard ??= stream.WaitAsync(cancellationToken).AsTask();
            if (!stream.CatchUpNeeded)
            {
                await Task.WhenAny(heard, keepAlive, ended, stopping);
            }

            if (cancellationToken.IsCancellationRequested || stopping.IsCompleted)
            {
                yield break;
            }

            if (ended.IsCompleted)
            {
                yield return SessionEnded();
                yield break;
            }

            if (keepAlive.IsCompleted)
            {
                keepAlive = Task.Delay(KeepAliveInterval, time, cancellationToken);
                await WriteRawAsync(context, KeepAliveComment, cancellationToken);
                if (await SessionLivesAsync(session) == false)
                {
                    yield return SessionEnded();
                    yield break;
                }

                await RenewSlotAsync(session);
                stream.CatchUp();
            }

            if (heard.IsCompleted)
            {
                heard = null;
            }

            (batch, fromLog) = await NextBatchAsync(stream, session.PersonId, last);
        }
    }

    private static SseItem<LoggedEvent?> SessionEnded() => new(null, "session_ended");

    /// <summary>
    /// The events heard since the last batch, in order; when they do not follow on from <paramref name="last"/> or a
    /// catch-up is due, with what the log holds after it (and then true). Without the log, only what follows on without a
    /// gap is written, so what the log cannot give now (the store is away) is written later, from the log, not skipped.
    /// </summary>
    private async Task<(IReadOnlyList<LoggedEvent> Events, bool FromLog)> NextBatchAsync(EventStream stream, string personId, long last)
    {
        var heard = new SortedList<long, LoggedEvent>();
        while (stream.TryTake(out var loggedEvent))
        {
            if (loggedEvent is not null && loggedEvent.Position > last)
            {
                heard.TryAdd(loggedEvent.Position, loggedEvent);
            }
        }

        if (!stream.CatchUpNeeded && (heard.Count == 0 || heard.Keys[0] == last + 1))
        {
            return ([.. heard.Values], false);
        }

        stream.ClearCatchUp();
        try
        {
            foreach (var logged in await events.ReadAfterAsync(personId, last))
            {
                heard.TryAdd(logged.Position, logged);
            }

            return ([.. heard.Values], true);
        }
        catch (Exception e) when (StoreUnavailableHandler.IsStoreUnavailable(e))
        {
            // Kept open: the next keep-alive, or the store coming back, reads the log again.
            Log.EventLogUnavailable(logger, e.GetType().Name);
            return ([.. heard.Values], false);
        }
    }

    /// <summary>
    /// True while the stream's own session and the grant it was opened with last; null when the store cannot tell. A
    /// session a call renewed just before its absolute lifetime is still unexpired after it: the stream ends anyway, as
    /// the next call would.
    /// </summary>
    private async Task<bool?> SessionLivesAsync(StreamSession session)
    {
        try
        {
            var ticket = await sessions.RetrieveAsync(session.SessionId);
            var now = time.GetUtcNow();
            if (ticket is null || ticket.Properties.ExpiresUtc is { } expires && expires <= now
                || StoredSession.IsPastAbsoluteLifetime(StoredSession.SignedInAtOf(ticket.Properties), sessionLifetime.Value.AbsoluteLifetime, now))
            {
                return false;
            }

            var grant = await grants.GetAsync(session.PersonId);
            return grant is { Generation.Length: > 0 } && string.Equals(grant.Generation, session.Generation, StringComparison.Ordinal);
        }
        catch (Exception e) when (StoreUnavailableHandler.IsStoreUnavailable(e))
        {
            return null;
        }
    }

    private async Task RenewSlotAsync(StreamSession session)
    {
        try
        {
            await slots.RenewAsync(session.PersonId, session.StreamId);
        }
        catch (Exception e) when (StoreUnavailableHandler.IsStoreUnavailable(e))
        {
            // Renewed at a later keep-alive; the slot is taken again if it lapsed meanwhile.
        }
    }

    private static async Task WriteRawAsync(HttpContext context, byte[] bytes, CancellationToken cancellationToken)
    {
        await context.Response.Body.WriteAsync(bytes, cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>The delivery's span: a trace of its own, linked to the webhook's receipt (the stream's request lasts for hours).</summary>
    private static Activity? StartDelivery(LoggedEvent loggedEvent, StreamSession session)
    {
        var current = Activity.Current;
        Activity.Current = null;
        try
        {
            var activity = GatewayTelemetry.ActivitySource.StartActivity("events.deliver", ActivityKind.Producer, default(ActivityContext),
                links: loggedEvent.Receipt == default ? null : [new ActivityLink(loggedEvent.Receipt)]);
            activity?.SetTag("webex_gateway.event.type", loggedEvent.Type);
            activity?.SetTag("webex_gateway.event.position", loggedEvent.Position);
            activity?.SetTag("enduser.pseudo.id", GatewayMetrics.UserPseudonym(session.PersonId));
            return activity;
        }
        finally
        {
            Activity.Current = current;
        }
    }

    private sealed record StreamSession(string PersonId, string SessionId, string Generation, string StreamId);
}
