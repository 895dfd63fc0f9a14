using System.Collections.Frozen;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;

namespace WebexGateway.Apps;

/// <summary>
/// Which pages may open a WebSocket on an app route. A browser sends the user's cookies with every WebSocket handshake,
/// from any site, and no CORS check applies to it: the handshake's <c>Origin</c> is the only sign of who asked. Allowed:
/// the gateway's own origin (the request's scheme and Host, or the origin of <c>Webex:RedirectUri</c>) and the origins in
/// <c>Gateway:AllowedOrigins</c>. A handshake without <c>Origin</c> comes from no browser and carries nobody's session.
/// </summary>
public sealed class WebSocketOrigins
{
    private readonly FrozenSet<string> _allowed;

    public WebSocketOrigins(IOptions<GatewayOptions> gateway, IOptions<WebexOptions> webex)
    {
        var allowed = new List<string>();
        foreach (var origin in gateway.Value.AllowedOrigins.Append(webex.Value.RedirectUri))
        {
            if (Normalize(origin) is { } normalized)
            {
                allowed.Add(normalized);
            }
        }

        _allowed = allowed.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// True for a WebSocket handshake: HTTP/1.1's <c>Upgrade: websocket</c> or HTTP/2's extended CONNECT with the
    /// <c>websocket</c> protocol (RFC 8441). Any request naming <c>websocket</c> in <c>Upgrade</c> counts, whether or not
    /// its <c>Connection</c> header would let Kestrel upgrade it: the checks are never weaker than the upgrade.
    /// </summary>
    public static bool IsHandshake(HttpContext context)
    {
        if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            return string.Equals(connect.Protocol, "websocket", StringComparison.OrdinalIgnoreCase);
        }

        foreach (var value in context.Request.Headers.Upgrade)
        {
            if (value is not null && value.Contains("websocket", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the handshake's <c>Origin</c> (absent, the gateway's own, or an allowed one) may open the socket.</summary>
    public bool Allows(HttpRequest request)
    {
        var origins = request.Headers.Origin;
        if (origins.Count == 0)
        {
            return true;
        }

        // An origin is a scheme, a host and a port, nothing more: a browser never sends a path, a slash or user info.
        if (origins.Count > 1 || Normalize(origins[0]) is not { } origin
            || !string.Equals(origins[0], new Uri(origins[0]!).GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return _allowed.Contains(origin) || string.Equals(origin, Normalize($"{request.Scheme}://{request.Host.Value}"), StringComparison.Ordinal);
    }

    /// <summary><c>scheme://host:port</c>, lower case, with the port made explicit; null for anything but an http(s) origin.</summary>
    private static string? Normalize(string? origin)
    {
        if (string.IsNullOrWhiteSpace(origin) || !Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.UserInfo.Length > 0)
        {
            return null;
        }

        return $"{uri.Scheme}://{uri.IdnHost}:{uri.Port}".ToLowerInvariant();
    }
}
