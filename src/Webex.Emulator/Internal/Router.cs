using System.Net;
using Microsoft.AspNetCore.Http;

namespace Webex.Emulator.Internal;

internal sealed record RequestContext(
    HttpContext Http, EmulatorState State, IReadOnlyList<string> Args, CancellationToken Stopping, WebexPerson? Caller = null, TokenGrant? Grant = null)
{
    /// <summary>The owner of the request's access token; API endpoints only (the OAuth endpoints have no caller).</summary>
    public WebexPerson Me => Caller ?? throw new InvalidOperationException("This request carries no access token.");

    /// <summary>The request's access token's grant (integration and scopes); API endpoints only.</summary>
    public TokenGrant Token => Grant ?? throw new InvalidOperationException("This request carries no access token.");

    /// <summary>The emulator's base URL as the client reached it (the listening socket), e.g. <c>http://127.0.0.1:43567</c>.</summary>
    public string BaseUrl =>
        $"http://{new IPEndPoint(Http.Connection.LocalIpAddress ?? IPAddress.Loopback, Http.Connection.LocalPort)}";
}

internal delegate Task Handler(RequestContext request);

internal sealed record RouteResult(Handler? Handler, IReadOnlyList<string> Args, IReadOnlyList<string> AllowedMethods);

/// <summary>Matches decoded path segments; "{}" matches one non-empty segment, and the most literal match wins.</summary>
internal sealed class Router
{
    private readonly List<(string Method, string[] Pattern, Handler Handler)> _routes = [];

    public Router Map(string method, string pattern, Handler handler)
    {
        _routes.Add((method, pattern.Split('/'), handler));
        return this;
    }

    public RouteResult Resolve(string method, IReadOnlyList<string> segments)
    {
        RouteResult? best = null;
        var bestLiterals = -1;
        var allowed = new List<string>();
        foreach (var (routeMethod, pattern, handler) in _routes)
        {
            if (!TryMatch(pattern, segments, out var args, out var literals))
            {
                continue;
            }

            if (!string.Equals(routeMethod, method, StringComparison.Ordinal))
            {
                allowed.Add(routeMethod);
            }
            else if (literals > bestLiterals)
            {
                best = new RouteResult(handler, args, []);
                bestLiterals = literals;
            }
        }

        return best ?? new RouteResult(null, [], allowed);
    }

    private static bool TryMatch(string[] pattern, IReadOnlyList<string> segments, out List<string> args, out int literals)
    {
        args = [];
        literals = 0;
        if (pattern.Length != segments.Count)
        {
            return false;
        }

        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == "{}")
            {
                if (segments[i].Length == 0)
                {
                    return false;
                }

                args.Add(segments[i]);
            }
            else if (string.Equals(pattern[i], segments[i], StringComparison.Ordinal))
            {
                literals++;
            }
            else
            {
                return false;
            }
        }

        return true;
    }
}
