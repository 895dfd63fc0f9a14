using Microsoft.Extensions.Primitives;

namespace WebexGateway.Proxy;

/// <summary>Points Webex's pagination links (<c>&lt;https://webexapis.com/v1/rooms?cursor=..&gt;; rel="next"</c>) at the gateway.</summary>
public static class LinkHeaders
{
    public static StringValues Rewrite(StringValues values, string apiUrl, string routePrefix)
    {
        var rewritten = new string?[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            rewritten[i] = RewriteOne(values[i] ?? "", apiUrl, routePrefix);
        }

        return new StringValues(rewritten);
    }

    private static string RewriteOne(string value, string apiUrl, string routePrefix)
    {
        var result = new System.Text.StringBuilder(value.Length);
        var position = 0;
        while (position < value.Length)
        {
            var open = value.IndexOf('<', position);
            var close = open < 0 ? -1 : value.IndexOf('>', open + 1);
            if (close < 0)
            {
                result.Append(value, position, value.Length - position);
                break;
            }

            result.Append(value, position, open + 1 - position);
            var target = value.AsSpan(open + 1, close - open - 1);
            if (target.StartsWith(apiUrl, StringComparison.OrdinalIgnoreCase)
                && (target.Length == apiUrl.Length || target[apiUrl.Length] is '/' or '?'))
            {
                result.Append(routePrefix).Append(target[apiUrl.Length..]);
            }
            else
            {
                result.Append(target);
            }

            result.Append('>');
            position = close + 1;
        }

        return result.ToString();
    }
}
