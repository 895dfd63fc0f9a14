using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Webex.Emulator.Internal;

namespace Webex.Emulator;

/// <summary>Webex's error responses: <c>{"message","errors":[{"description"}],"trackingId"}</c> plus a <c>TrackingID</c> header.</summary>
internal static class WebexErrors
{
    public const string TrackingHeader = "TrackingID";
    public const string InvalidTokenMessage = "The request requires a valid access token set in the Authorization request header.";
    public const string NotFoundMessage = "The requested resource could not be found.";

    private static readonly object TrackingKey = new();

    /// <summary>Gives the request its tracking id and sets the response header.</summary>
    public static void AssignTrackingId(HttpContext context)
    {
        var trackingId = Secrets.NewTrackingId();
        context.Items[TrackingKey] = trackingId;
        context.Response.Headers[TrackingHeader] = trackingId;
    }

    public static string TrackingId(HttpContext context) => context.Items[TrackingKey] as string ?? Secrets.NewTrackingId();

    public static Task WriteAsync(HttpContext context, int status, string message, string? description = null) =>
        WebexJson.WriteAsync(context, status, new ErrorBody(message, [new ErrorItem(description ?? message)], TrackingId(context), null, null));

    /// <summary>An OAuth error: the Webex fields plus RFC 6749's <c>error</c> and <c>error_description</c>.</summary>
    public static Task WriteOAuthAsync(HttpContext context, int status, string error, string description)
    {
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        return WebexJson.WriteAsync(context, status, new ErrorBody(description, [new ErrorItem(description)], TrackingId(context), error, description));
    }

    public static Task BadRequestAsync(HttpContext context, string description) =>
        WriteAsync(context, StatusCodes.Status400BadRequest, "The request could not be understood by the server due to malformed syntax.", description);

    public static Task NotFoundAsync(HttpContext context, string? description = null) =>
        WriteAsync(context, StatusCodes.Status404NotFound, NotFoundMessage, description);

    public static Task UnauthorizedAsync(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status401Unauthorized, InvalidTokenMessage);

    public static Task TooManyRequestsAsync(HttpContext context, string? retryAfter = "2")
    {
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        return WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too many requests have been sent in a given amount of time. Please retry after the time given in the Retry-After header.");
    }

    public static Task MethodNotAllowedAsync(HttpContext context, IEnumerable<string> allowed)
    {
        context.Response.Headers.Allow = string.Join(", ", allowed.Distinct());
        return WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "The request method is not supported for this resource.");
    }

    private sealed record ErrorItem(string Description);

    private sealed record ErrorBody(
        string Message,
        IReadOnlyList<ErrorItem> Errors,
        string TrackingId,
        [property: JsonPropertyName("error")] string? Error,
        [property: JsonPropertyName("error_description")] string? ErrorDescription);
}
