using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Webex.Emulator.Internal;

internal static class QueryParameters
{
    /// <summary>An optional single-valued parameter; false when it is repeated.</summary>
    public static bool TryGetOptional(IQueryCollection query, string name, out string? value)
    {
        value = null;
        if (!query.TryGetValue(name, out var values))
        {
            return true;
        }

        if (values.Count != 1)
        {
            return false;
        }

        value = values[0];
        return true;
    }

    /// <summary>Parses <c>max</c>: an integer in [1, <paramref name="limit"/>], <paramref name="fallback"/> when absent.</summary>
    public static bool TryGetMax(IQueryCollection query, int fallback, int limit, out int max)
    {
        max = fallback;
        if (!TryGetOptional(query, "max", out var raw))
        {
            return false;
        }

        return raw is null
            || (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out max) && max >= 1 && max <= limit);
    }
}
