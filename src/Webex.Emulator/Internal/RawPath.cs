using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Webex.Emulator.Internal;

internal static class RawPath
{
    /// <summary>The request target exactly as received, e.g. <c>/v1/rooms/abc%2Fdef?max=2</c>.</summary>
    public static string RawTarget(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw
            ? raw
            : context.Request.PathBase + context.Request.Path + context.Request.QueryString;

    /// <summary>
    /// The path's segments, each percent-decoded once. Decoding the raw target (not Request.Path, where Kestrel
    /// decodes everything but %2F) keeps "%2F" inside an id and "%252F" distinct from it.
    /// </summary>
    public static IReadOnlyList<string> Segments(HttpContext context)
    {
        var raw = RawTarget(context);
        string path;
        if (raw.StartsWith('/'))
        {
            var end = raw.IndexOfAny(['?', '#']);
            path = end < 0 ? raw : raw[..end];
        }
        else
        {
            path = (context.Request.PathBase + context.Request.Path).Value ?? "/";
        }

        var segments = path.Split('/').Skip(1).ToList();
        if (segments.Count > 0 && segments[^1].Length == 0)
        {
            segments.RemoveAt(segments.Count - 1);
        }

        return segments.ConvertAll(Uri.UnescapeDataString);
    }
}
