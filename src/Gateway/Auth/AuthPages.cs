using System.Globalization;
using System.Net;
using WebexGateway.Refusals;

namespace WebexGateway.Auth;

/// <summary>What the browser-facing sign-in endpoints show a person, and where they send one to sign in.</summary>
public static class AuthPages
{
    public const string StoreUnavailableTitle = "Gateway temporarily unavailable";

    public const string StoreUnavailableMessage = "The gateway's store is not answering. Please try again in a moment.";

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

    /// <summary>Whether the request is for a browser-facing sign-in endpoint, which answers with a page rather than JSON.</summary>
    public static bool IsPage(HttpRequest request) =>
        request.Path.Equals("/auth/login", StringComparison.OrdinalIgnoreCase)
        || request.Path.Equals("/auth/callback", StringComparison.OrdinalIgnoreCase);

    /// <summary>The store is not answering: a 503 page with <c>Retry-After</c>, as <see cref="Refuse.StoreUnavailable"/> for the API.</summary>
    public static Task StoreUnavailableAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = Refuse.StoreUnavailable.RetryAfterSeconds!.Value.ToString(CultureInfo.InvariantCulture);
        return Page(StatusCodes.Status503ServiceUnavailable, StoreUnavailableTitle, StoreUnavailableMessage).ExecuteAsync(context);
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
