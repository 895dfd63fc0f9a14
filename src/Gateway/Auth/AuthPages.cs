using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
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
    public static bool IsLocal([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? url) =>
        !string.IsNullOrEmpty(url)
        && url[0] == '/'
        && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Any(char.IsControl);

    /// <summary>
    /// The local path as a <c>Location</c> header can carry it, or null when it is not local. Anything but printable ASCII
    /// (<c>é</c>, U+2028, a fullwidth solidus that some parsers fold into <c>/</c>) is percent-encoded as UTF-8, as are the
    /// ASCII characters a URL may not hold as they are; <c>%</c> escapes already there are kept, so the browser comes back
    /// to exactly the path it asked for, and never to another host.
    /// </summary>
    public static string? ToLocation(string? url)
    {
        if (!IsLocal(url))
        {
            return null;
        }

        if (url.AsSpan().IndexOfAnyExcept(LocationChars) < 0)
        {
            return url;
        }

        var location = new StringBuilder(url.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < url.Length; i++)
        {
            var c = url[i];
            if (LocationChars.Contains(c))
            {
                location.Append(c);
                continue;
            }

            // A surrogate pair is one code point; a lone surrogate is U+FFFD, as UTF-8 has no other way to say it.
            var length = char.IsHighSurrogate(c) && i + 1 < url.Length && char.IsLowSurrogate(url[i + 1])
                ? Encoding.UTF8.GetBytes(url.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes([char.IsSurrogate(c) ? '\uFFFD' : c], utf8);
            foreach (var b in utf8[..length])
            {
                location.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
            }
        }

        return location.ToString();
    }

    /// <summary>The printable ASCII a URL holds as it is: RFC 3986's unreserved and reserved characters, and <c>%</c>.</summary>
    private static readonly SearchValues<char> LocationChars = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%");
}
