using System.Collections.Frozen;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace WebexGateway.Proxy;

/// <summary>
/// Files of messages, Webex's <c>/v1/contents/{id}</c>. A browser's <c>&lt;img src&gt;</c> or <c>&lt;a download&gt;</c>
/// cannot add <c>X-CSRF</c>, so a <c>GET</c> or <c>HEAD</c> of a file may omit it when the browser itself says the
/// request comes from the gateway's own pages (<c>Sec-Fetch-Site: same-origin</c>, or <c>none</c> for an address typed
/// or a bookmark); a request without <c>Sec-Fetch-Site</c> is not a current browser's and must send <c>X-CSRF</c>.
/// Served from the gateway's origin, a file must never run there: every answer gets <c>nosniff</c> and
/// <c>Content-Security-Policy: sandbox</c>, and anything but a raster image, audio, video or plain text is an attachment.
/// </summary>
public static class ContentsDownload
{
    private const string ContentsPath = "/v1/contents/";
    private const string SecFetchSite = "Sec-Fetch-Site";

    private static readonly StringValues Sandbox = new("sandbox");
    private static readonly StringValues Attachment = new("attachment");

    private static readonly FrozenSet<string> InlineTypes =
        new[] { "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>A <c>GET</c> or <c>HEAD</c> of a file, sent by a browser from the gateway's own pages.</summary>
    public static bool MayOmitCsrf(HttpContext context, UpstreamPath path)
    {
        var method = context.Request.Method;
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
        {
            return false;
        }

        var site = context.Request.Headers[SecFetchSite];
        return site.Count == 1 && site[0] is "same-origin" or "none" && IsContents(context, path, StringComparison.Ordinal);
    }

    /// <summary>
    /// True when the call's Webex path is a file's, from the decoded request path (no allocation). Case is ignored, so a
    /// path Webex might also serve files on (<c>/V1/Contents/..</c>) gets the same headers.
    /// </summary>
    public static bool IsContents(HttpContext context, UpstreamPath path, StringComparison comparison = StringComparison.OrdinalIgnoreCase)
    {
        var requestPath = context.Request.Path.Value.AsSpan();
        if (!requestPath.StartsWith(path.RoutePrefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // The Webex path is the route's Webex prefix followed by the rest of the request path.
        var rest = requestPath[path.RoutePrefix.Length..];
        ReadOnlySpan<char> expected = ContentsPath;
        var webexPrefix = path.WebexPrefix.AsSpan();
        if (webexPrefix.Length >= expected.Length)
        {
            return webexPrefix.StartsWith(expected, comparison) && webexPrefix.Length + rest.Length > expected.Length;
        }

        return expected.StartsWith(webexPrefix, comparison)
               && rest.StartsWith(expected[webexPrefix.Length..], comparison)
               && rest.Length > expected.Length - webexPrefix.Length;
    }

    /// <summary>
    /// The headers every answer to a file request gets (called after YARP copied Webex's): <c>nosniff</c> (set for every
    /// Webex route already), <c>sandbox</c>, and <c>Content-Disposition: attachment</c> (the file name kept) unless the
    /// type is on the inline list, where it becomes <c>inline</c>.
    /// </summary>
    public static void Secure(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = Sandbox;
        var type = headers.ContentType;
        var disposition = headers.ContentDisposition;
        if (type.Count == 0 && disposition.Count == 0)
        {
            // A 304 or an empty answer: nothing to display.
            return;
        }

        var inline = type.Count == 1 && IsInline(type[0]);
        if (disposition.Count != 1 || !ContentDispositionHeaderValue.TryParse(disposition[0], out var parsed))
        {
            if (!inline)
            {
                headers.ContentDisposition = Attachment;
            }
            else if (disposition.Count > 0)
            {
                headers.Remove(HeaderNames.ContentDisposition);
            }

            return;
        }

        var wanted = inline ? "inline" : "attachment";
        if (!parsed.DispositionType.Equals(wanted, StringComparison.OrdinalIgnoreCase))
        {
            parsed.DispositionType = wanted;
            headers.ContentDisposition = parsed.ToString();
        }
    }

    private static bool IsInline(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType.Value is not { } mediaType)
        {
            return false;
        }

        return InlineTypes.Contains(mediaType)
               || (parsed.SubType.Length > 0 && !parsed.MatchesAllSubTypes
                   && (parsed.Type.Equals("audio", StringComparison.OrdinalIgnoreCase) || parsed.Type.Equals("video", StringComparison.OrdinalIgnoreCase)));
    }
}
