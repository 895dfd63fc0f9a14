using System.Runtime.CompilerServices;
using System.Text;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// What a bot route lets through to Webex, from its <c>Allow</c> metadata: comma-separated entries of a method (or
/// <c>*</c> for any) and a Webex path, such as <c>POST /v1/messages, GET /v1/rooms, GET /v1/rooms/*</c>. A path matches
/// exactly; one ending in <c>/*</c> matches every path below it (not the path itself). A public route without the key
/// allows <c>POST /v1/messages</c> only; any other bot route without it allows everything.
/// </summary>
/// <remarks>
/// Paths are compared with Webex's path as the gateway sends it (<see cref="UpstreamPath"/>), case-sensitively, after
/// only the percent-encoding of letters, digits and <c>-._~</c> is decoded: an encoded slash, a doubled slash, another
/// case or a trailing slash is another path, and one with a <c>.</c> or <c>..</c> segment is never allowed.
/// </remarks>
public sealed class BotAllowList
{
    public const string MetadataKey = "Allow";
    public const string PublicDefaultValue = "POST /v1/messages";

    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    private static readonly ConditionalWeakTable<RouteConfig, BotAllowList> ByRoute = [];

    private readonly Entry[]? _entries;

    private BotAllowList(Entry[]? entries, string text)
    {
        _entries = entries;
        Text = text;
    }

    /// <summary>A bot route without <c>Allow</c> that is not public, and every route that is not a bot route: no limit.</summary>
    public static BotAllowList Everything { get; } = new(null, "* (everything)");

    public static BotAllowList PublicDefault { get; } = Parse(PublicDefaultValue);

    /// <summary>True when this list lets every call through, so the upstream path need not be worked out for it.</summary>
    public bool AllowsEverything => _entries is null;

    /// <summary>The entries as configured, for messages.</summary>
    public string Text { get; }

    /// <summary>The list of the route a request matched, read from its metadata once per route configuration.</summary>
    public static BotAllowList Of(RouteModel? route)
        => route is null ? Everything : ByRoute.GetValue(route.Config, config => Of(config.Metadata));

    /// <summary>The route's list; a value that <see cref="TryParse"/> refuses never gets this far (start-up validation).</summary>
    public static BotAllowList Of(IReadOnlyDictionary<string, string>? metadata)
        => TryParse(RouteToken.Find(metadata, MetadataKey), RouteToken.Of(metadata), out var list, out _) ? list : Everything;

    /// <summary>Parses the <c>Allow</c> value of a route with <paramref name="token"/>; <paramref name="error"/> says what is wrong with it.</summary>
    public static bool TryParse(string? value, RouteToken token, out BotAllowList list, out string? error)
    {
        error = null;
        list = token.Kind != RouteTokenKind.Bot ? Everything : token.IsPublic ? PublicDefault : Everything;
        if (value is null)
        {
            return true;
        }

        if (token.Kind != RouteTokenKind.Bot)
        {
            error = $"'{MetadataKey}' is only for bot routes ('{RouteToken.TokenMetadataKey}: {RouteToken.BotPrefix}<name>').";
            return false;
        }

        var entries = new List<Entry>();
        foreach (var part in value.Split(','))
        {
            var words = part.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length != 2)
            {
                error = $"'{MetadataKey}' must list entries of a method and a Webex path separated by commas, such as '{PublicDefaultValue}, GET /v1/rooms/*' (got '{part.Trim()}' in '{value}').";
                return false;
            }

            var method = words[0].ToUpperInvariant();
            if (method != "*" && !Methods.Contains(method, StringComparer.Ordinal))
            {
                error = $"'{MetadataKey}': '{words[0]}' is not a method: use one of {string.Join(", ", Methods)}, or * for any (in '{value}').";
                return false;
            }

            var path = words[1];
            var subtree = path.EndsWith("/*", StringComparison.Ordinal);
            var exact = subtree ? path[..^2] : path;
            if (!path.StartsWith('/') || !IsPlainPath(exact))
            {
                error = $"'{MetadataKey}': '{path}' is not a Webex path such as /v1/messages, or /v1/rooms/* for every path below one: " +
                        $"segments of letters, digits and -._~ only, no '.' or '..', no trailing '/' (in '{value}').";
                return false;
            }

            entries.Add(new Entry(method == "*" ? null : method, exact, subtree));
        }

        list = new BotAllowList([.. entries], string.Join(", ", entries));
        return true;
    }

    private static BotAllowList Parse(string value) =>
        TryParse(value, new RouteToken(RouteTokenKind.Bot, "any", false), out var list, out var error) ? list : throw new ArgumentException(error, nameof(value));

    /// <summary>Whether a call with <paramref name="method"/> to Webex's <paramref name="target"/> (path and query) is allowed.</summary>
    public bool Allows(string method, string target)
    {
        if (_entries is null)
        {
            return true;
        }

        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = Normalized(query < 0 ? target : target[..query]);
        if (path is null)
        {
            return false;
        }

        foreach (var entry in _entries)
        {
            if (entry.Method is not null && !string.Equals(entry.Method, method, StringComparison.Ordinal))
            {
                continue;
            }

            if (entry.Subtree
                ? path.Length > entry.Path.Length + 1 && path.StartsWith(entry.Path, StringComparison.Ordinal) && path[entry.Path.Length] == '/'
                : string.Equals(path, entry.Path, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The path with the percent-encoding of unreserved characters decoded (RFC 3986's normalization: <c>/%76%31/</c> is
    /// <c>/v1/</c> to any server), every other escape kept; null when a segment is <c>.</c> or <c>..</c>, also between
    /// encoded slashes or backslashes, which a server behind Webex's edge may decode.
    /// </summary>
    private static string? Normalized(string path)
    {
        var result = new StringBuilder(path.Length);
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length && IsHex(path[i + 1]) && IsHex(path[i + 2])
                && (char)Convert.ToByte(path.Substring(i + 1, 2), 16) is var decoded && IsUnreserved(decoded))
            {
                result.Append(decoded);
                i += 2;
            }
            else
            {
                result.Append(path[i]);
            }
        }

        var normalized = result.ToString();
        var separated = normalized.Replace("%2f", "/", StringComparison.OrdinalIgnoreCase).Replace("%5c", "/", StringComparison.OrdinalIgnoreCase);
        return separated.Split('/', '\\').Any(segment => segment is "." or "..") ? null : normalized;
    }

    private static bool IsPlainPath(string path)
    {
        if (path.Length == 0)
        {
            // "/*": every path below the root.
            return true;
        }

        if (!path.StartsWith('/'))
        {
            return false;
        }

        foreach (var segment in path[1..].Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || !segment.All(IsUnreserved))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsUnreserved(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~';

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    public override string ToString() => Text;

    private sealed record Entry(string? Method, string Path, bool Subtree)
    {
        public override string ToString() => $"{Method ?? "*"} {Path}{(Subtree ? "/*" : "")}";
    }
}
