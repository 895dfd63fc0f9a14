using System.Net;
using WebexGateway.Grants;

namespace WebexGateway.Auth;

/// <summary>The answers the gateway gives when it cannot let a request through.</summary>
public static class AuthResults
{
    public const string CsrfHeader = "X-CSRF";

    /// <summary>A cross-site form or image cannot set a custom header, so its presence proves a same-origin script (or an allowed CORS origin).</summary>
    public static bool HasCsrfHeader(HttpRequest request) => request.Headers[CsrfHeader] == "1";

    public static IResult CsrfRequired() => Results.Json(
        new { error = "csrf_header_required", message = $"This endpoint requires the header '{CsrfHeader}: 1'." },
        statusCode: StatusCodes.Status403Forbidden);

    public static IResult LoginRequired(HttpContext context) => Results.Json(
        new { error = "login_required", message = "Sign in with Webex first.", loginUrl = LoginUrl(context) },
        statusCode: StatusCodes.Status401Unauthorized);

    public static IResult Unavailable(string message, int retryAfterSeconds = 5) => new UnavailableResult(message, retryAfterSeconds);

    /// <summary>A refresh that could not be done now: 504 when the token endpoint timed out, 503 otherwise; the grant is kept.</summary>
    public static IResult RefreshFailed(RefreshOutcome outcome) => outcome.Failure == TokenFailure.TimedOut
        ? new UnavailableResult("Webex's token endpoint did not answer in time; try again shortly.", 5, StatusCodes.Status504GatewayTimeout, "token_endpoint_timeout")
        : new UnavailableResult("The Webex token could not be refreshed right now; try again shortly.", 5);

    /// <summary>Where the browser should go to sign in, coming back to the page that asked (when it is ours).</summary>
    public static string LoginUrl(HttpContext context)
    {
        var returnUrl = "/";
        if (Uri.TryCreate(context.Request.Headers.Referer.ToString(), UriKind.Absolute, out var referer)
            && string.Equals(referer.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase)
            && ReturnUrls.IsLocal(referer.PathAndQuery))
        {
            returnUrl = referer.PathAndQuery;
        }

        return $"/auth/login?returnUrl={Uri.EscapeDataString(returnUrl)}";
    }

    private sealed class UnavailableResult(string message, int retryAfterSeconds, int statusCode = StatusCodes.Status503ServiceUnavailable,
        string error = "temporarily_unavailable") : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Json(new { error, message }, statusCode: statusCode).ExecuteAsync(httpContext);
        }
    }

    /// <summary>A small HTML page for the browser-facing sign-in endpoints.</summary>
    public static IResult Page(int statusCode, string title, string message) => Results.Content(
        $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>{{WebUtility.HtmlEncode(title)}}</title>
        <style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}a{color:#0a66c2}</style></head>
        <body><h1>{{WebUtility.HtmlEncode(title)}}</h1><p>{{WebUtility.HtmlEncode(message)}}</p><p><a href="/auth/login">Sign in again</a></p></body></html>
        """,
        "text/html; charset=utf-8",
        statusCode: statusCode);
}

public static class ReturnUrls
{
    /// <summary>A path on this gateway: not <c>//host</c>, not <c>/\host</c>, not a scheme, no control characters.</summary>
    public static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url)
        && url[0] == '/'
        && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Any(char.IsControl);
}
