using WebexGateway.Auth;
using WebexGateway.Grants;

namespace WebexGateway.Refusals;

/// <summary>The catalogue of every refusal the gateway answers with: the auth endpoints, the proxy and upstream failures.</summary>
public static class Refuse
{
    public static readonly Refusal CsrfRequired = new(StatusCodes.Status403Forbidden, "csrf_header_required",
        $"This endpoint requires the header '{CsrfHeader.Name}: 1'.", "csrf");

    /// <summary>A file download without <c>X-CSRF</c> that the browser did not mark as coming from the gateway's own pages.</summary>
    public static readonly Refusal DownloadCsrfRequired = new(StatusCodes.Status403Forbidden, "csrf_header_required",
        $"A file is downloaded from the gateway's own pages (Sec-Fetch-Site: same-origin or none) or with the header '{CsrfHeader.Name}: 1'.", "csrf");

    public static readonly Refusal DotSegments = new(StatusCodes.Status400BadRequest, "bad_request",
        "Paths of Webex routes must not contain '.' or '..' segments.", "bad_input");

    /// <summary>A bot route's <c>Allow</c> metadata does not list the call's method and Webex path.</summary>
    public static readonly Refusal BotRouteNotAllowed = new(StatusCodes.Status403Forbidden, "bot_route_not_allowed",
        "This bot route does not allow this method and path; its route's Metadata:Allow lists what it allows.", "bad_input");

    /// <summary>A public bot route takes JSON only: a cross-site form or text/plain fetch needs no preflight, JSON does.</summary>
    public static readonly Refusal JsonBodyRequired = new(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type",
        "A public bot route accepts a request body only with 'Content-Type: application/json'.", "bad_input");

    /// <summary>Webex has no WebSocket API behind the Webex routes: a handshake there is refused, not forwarded as a plain GET.</summary>
    public static readonly Refusal WebSocketNotSupported = new(StatusCodes.Status400BadRequest, "websocket_not_supported",
        "Webex routes do not accept WebSocket upgrades; only app routes do.", "bad_input");

    /// <summary>
    /// A WebSocket handshake on an app route from a page of another site: the browser would send the user's cookies with it,
    /// and no CORS check applies to WebSockets.
    /// </summary>
    public static readonly Refusal WebSocketOriginNotAllowed = new(StatusCodes.Status403Forbidden, "websocket_origin_not_allowed",
        "WebSockets are accepted only from the gateway's own origin or one listed in Gateway:AllowedOrigins.", "csrf");

    /// <summary>
    /// <c>/events</c> asked for by a page of another site (<c>Sec-Fetch-Site</c>) whose origin is not allowed: the stream
    /// opens with the cookie alone, since an EventSource cannot send <c>X-CSRF</c>.
    /// </summary>
    public static readonly Refusal EventsOriginNotAllowed = new(StatusCodes.Status403Forbidden, "origin_not_allowed",
        "Live events are streamed only to the gateway's own pages and the origins listed in Gateway:AllowedOrigins.", "csrf");

    /// <summary>The person holds <c>Gateway:Events:MaxStreamsPerPerson</c> open streams already, over all instances.</summary>
    public static Refusal TooManyStreams(int max) => new(StatusCodes.Status429TooManyRequests, "too_many_streams",
        $"This person has {max.ToString(System.Globalization.CultureInfo.InvariantCulture)} open event streams already (Gateway:Events:MaxStreamsPerPerson); close one first.", "too_many_streams")
    {
        RetryAfterSeconds = 15,
    };

    /// <summary>A body above the call's limit: <c>Gateway:MaxUploadBytes</c> for a message with a file, Kestrel's otherwise.</summary>
    public static Refusal PayloadTooLarge(long limit) => new(StatusCodes.Status413PayloadTooLarge, "payload_too_large",
        $"The request body is larger than this call accepts: at most {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)} bytes.", "bad_input");

    public static readonly Refusal Tunnel = new(StatusCodes.Status405MethodNotAllowed, "method_not_allowed",
        "CONNECT is not forwarded to Webex.")
    {
        Allow = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
    };

    public static readonly Refusal StoreUnavailable = new(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable",
        "The gateway's store is not answering; try again shortly.")
    {
        RetryAfterSeconds = 5,
    };

    public static readonly Refusal RefreshUnavailable = new(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable",
        "The Webex token could not be refreshed right now; try again shortly.")
    {
        RetryAfterSeconds = 5,
    };

    public static readonly Refusal TokenEndpointTimeout = new(StatusCodes.Status504GatewayTimeout, "token_endpoint_timeout",
        "Webex's token endpoint did not answer in time; try again shortly.")
    {
        RetryAfterSeconds = 5,
    };

    /// <summary>A refresh that could not be done now: 504 when the token endpoint timed out, 503 otherwise; the grant is kept.</summary>
    public static Refusal RefreshFailed(TokenFailure? failure) => failure == TokenFailure.TimedOut ? TokenEndpointTimeout : RefreshUnavailable;

    /// <summary>No session, or a session whose person has no grant: sign in, and come back to the page that asked.</summary>
    public static Refusal LoginRequired(HttpContext context) => new(StatusCodes.Status401Unauthorized, "login_required",
        "Sign in with Webex first.", "login_required")
    {
        LoginUrl = AuthPages.LoginUrl(context),
    };

    /// <summary>A bot token does not expire and cannot be refreshed: Webex refusing it is the gateway's misconfiguration.</summary>
    public static Refusal BotTokenInvalid(string bot) => new(StatusCodes.Status502BadGateway, "bot_token_invalid",
        $"Webex rejected the token of the bot '{bot}': it is invalid or was revoked. Ask the gateway's operators to check Webex:Bots:{bot}:Token.",
        "bot_token_invalid");

    /// <summary>
    /// A call not sent to Webex: its caller is cooling down from Webex's own 429 on that resource (<c>webex</c>), or its
    /// person used up <c>Gateway:RateLimit:PermitsPerMinute</c> (<c>gateway</c>). Counted in <c>webex_gateway.rate_limited</c>.
    /// </summary>
    public static Refusal RateLimited(string source, TimeSpan retryAfter) => new(StatusCodes.Status429TooManyRequests, "rate_limited",
        source == "webex"
            ? "Webex asked to slow down calls to this resource; try again after Retry-After seconds."
            : "Too many calls to Webex from this person in the last minute; try again after Retry-After seconds.")
    {
        Source = source,
        RetryAfterSeconds = (int)Math.Clamp(Math.Ceiling(retryAfter.TotalSeconds), 1, int.MaxValue),
    };

    /// <summary>YARP's empty 502, 503 or 504 for a forward that failed, said in words; <paramref name="toWebex"/> is false on an app route.</summary>
    public static Refusal UpstreamFailed(int status, bool toWebex) => status switch
    {
        StatusCodes.Status504GatewayTimeout => new(status, "upstream_unavailable", $"{(toWebex ? "Webex" : "The app's upstream")} did not answer in time."),
        StatusCodes.Status503ServiceUnavailable => new(status, "upstream_unavailable", $"No {(toWebex ? "Webex" : "app")} destination is available."),
        _ => new(StatusCodes.Status502BadGateway, "upstream_unavailable", $"{(toWebex ? "Webex" : "The app's upstream")} could not be reached."),
    };

    /// <summary>A webhook delivery whose body is not <c>application/json</c>.</summary>
    public static readonly Refusal WebhookNotJson = new(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type",
        "A webhook delivery is accepted only with 'Content-Type: application/json'.");

    /// <summary>A webhook delivery that is not a JSON object with the webhook's <c>id</c>, <c>resource</c>, <c>event</c> and <c>data</c>.</summary>
    public static readonly Refusal WebhookMalformed = new(StatusCodes.Status400BadRequest, "bad_request",
        "A webhook delivery must be a JSON object with 'id', 'resource', 'event' and a 'data' object.");

    /// <summary>A delivery for a webhook the gateway did not make, or no longer knows (its person signed out).</summary>
    public static readonly Refusal WebhookUnknown = new(StatusCodes.Status404NotFound, "unknown_webhook",
        "This gateway has no webhook with this id.");

    public static readonly Refusal WebhookSignatureMissing = new(StatusCodes.Status401Unauthorized, "signature_required",
        "A webhook delivery must carry X-Spark-Signature: the HMAC-SHA1 of its body with the webhook's secret.");

    public static readonly Refusal WebhookSignatureInvalid = new(StatusCodes.Status403Forbidden, "bad_signature",
        "X-Spark-Signature does not match the body and the webhook's secret.");

    /// <summary>A signed delivery whose resource or event is not the one its webhook was made for.</summary>
    public static readonly Refusal WebhookEventMismatch = new(StatusCodes.Status422UnprocessableEntity, "event_not_subscribed",
        "This webhook was not made for this resource and event.");

    public static readonly Refusal WebhookMethodNotAllowed = new(StatusCodes.Status405MethodNotAllowed, "method_not_allowed",
        "Webex delivers webhooks with POST only.")
    {
        Allow = "POST",
    };
}
