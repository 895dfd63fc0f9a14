using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>
/// How a Webex route's request target becomes Webex's: the literal prefix of the route's path (everything before its
/// <c>/{**path}</c>) is cut, and the Webex path that prefix names, from its first <c>v1</c> segment on, takes its place.
/// <c>/webex/{**path}</c> names none, so <c>/webex/v1/rooms</c> is <c>/v1/rooms</c>; <c>/bots/msg/v1/messages/{**path}</c>
/// names <c>/v1/messages</c>, so <c>/bots/msg/v1/messages</c> is <c>/v1/messages</c> and <c>/bots/msg/v1/messages/abc</c>
/// is <c>/v1/messages/abc</c>.
/// </summary>
public sealed record UpstreamPath(string RoutePrefix, string WebexPrefix)
{
    private const string VersionSegment = "/v1";

    private static readonly ConditionalWeakTable<RouteConfig, UpstreamPath> ByRoute = [];

    /// <summary>The gateway's own part of the prefix (<c>/bots/msg</c>): where Webex's Link headers are pointed back at.</summary>
    public string GatewayPrefix => RoutePrefix[..^WebexPrefix.Length];

    /// <summary>Null when the path is not of the form <c>/prefix/{**path}</c> (start-up validation refuses it).</summary>
    public static UpstreamPath? Of(string? matchPath)
    {
        if (RouteToken.PrefixOf(matchPath) is not { } prefix)
        {
            return null;
        }

        for (var at = prefix.IndexOf(VersionSegment, StringComparison.Ordinal); at >= 0; at = prefix.IndexOf(VersionSegment, at + 1, StringComparison.Ordinal))
        {
            var end = at + VersionSegment.Length;
            if (end == prefix.Length || prefix[end] == '/')
            {
                return new UpstreamPath(prefix, prefix[at..]);
            }
        }

        return new UpstreamPath(prefix, "");
    }

    /// <summary>The upstream path of the route a request matched, derived once per route configuration.</summary>
    public static UpstreamPath Of(RouteModel route) => Of(route.Config);

    public static UpstreamPath Of(RouteConfig route) =>
        ByRoute.GetValue(route, config => Of(config.Match.Path) ?? new UpstreamPath("", ""));

    /// <summary>
    /// The request target for Webex, path and query: exactly as the client sent it (percent-encoding included), with the
    /// route prefix replaced as above. YARP would rebuild it from the decoded path and re-encode <c>%2F</c> as <c>%252F</c>
    /// (dotnet/yarp#1419), and Webex ids are base64 that can hold a <c>/</c>.
    /// </summary>
    public string TargetOf(HttpContext context) => UrlOf("", context);

    /// <summary><paramref name="apiUrl"/> followed by <see cref="TargetOf"/>, made as one string.</summary>
    public string UrlOf(string apiUrl, HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (rawTarget is not null && !rawTarget.StartsWith('/') && rawTarget.IndexOf("://", StringComparison.Ordinal) is > 0 and var scheme)
        {
            // The absolute form (GET http://host/webex/... HTTP/1.1): the target's path starts after its authority.
            var path = rawTarget.IndexOfAny(['/', '?'], scheme + 3);
            rawTarget = path < 0 ? "/" : rawTarget[path..];
        }

        var rest = rawTarget is not null && rawTarget.StartsWith(RoutePrefix, StringComparison.OrdinalIgnoreCase)
            ? rawTarget.AsSpan(RoutePrefix.Length)
            : (context.Request.Path.ToUriComponent()[RoutePrefix.Length..] + context.Request.QueryString).AsSpan();
        var slash = WebexPrefix.Length == 0 && !rest.StartsWith('/') ? "/" : "";
        return string.Concat(apiUrl, WebexPrefix, slash, rest);
    }
}
