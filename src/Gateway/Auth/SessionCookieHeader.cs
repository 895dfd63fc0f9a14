using System.Buffers;
using Microsoft.Extensions.Primitives;

namespace WebexGateway.Auth;

/// <summary>
/// The session cookie read in place from the request's <c>Cookie</c> header: ASP.NET Core's cookie collection would
/// parse every cookie the browser sends and copy each value (the session cookie's alone is some 1.4 KB) on every call.
/// Only the plain case is read here: exactly one cookie of the name (in any letter case), named exactly so, whose value
/// has no quotes, percent-encoding, commas or spaces. Anything else is left to ASP.NET Core's parser.
/// </summary>
public static class SessionCookieHeader
{
    /// <summary>What ASP.NET Core's parser would unquote, unescape or split on.</summary>
    private static readonly SearchValues<char> NotPlain = SearchValues.Create("\"%, \t");

    /// <summary>True with the cookie's value when the header holds it plainly; false when the parser must decide.</summary>
    public static bool TryRead(StringValues cookieHeaders, string name, out ReadOnlySpan<char> value)
    {
        value = default;
        var found = false;
        foreach (var header in cookieHeaders)
        {
            var rest = (header ?? "").AsSpan();
            while (!rest.IsEmpty)
            {
                var end = rest.IndexOf(';');
                var pair = (end < 0 ? rest : rest[..end]).Trim(' ');
                rest = end < 0 ? [] : rest[(end + 1)..];
                var equals = pair.IndexOf('=');
                var pairName = (equals < 0 ? pair : pair[..equals]).Trim(' ');
                if (!pairName.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var candidate = equals < 0 ? [] : pair[(equals + 1)..];
                if (found || !pairName.SequenceEqual(name) || candidate.IsEmpty || candidate.ContainsAny(NotPlain))
                {
                    value = default;
                    return false;
                }

                value = candidate;
                found = true;
            }
        }

        return found;
    }
}
