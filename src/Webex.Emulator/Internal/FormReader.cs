using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Webex.Emulator.Internal;

internal static class FormReader
{
    public static bool IsFormUrlEncoded(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
        && mediaType.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>The url-encoded form, or null when the body is not one (wrong content type or malformed).</summary>
    public static async Task<IFormCollection?> TryReadAsync(HttpRequest request)
    {
        if (!IsFormUrlEncoded(request))
        {
            return null;
        }

        try
        {
            return await request.ReadFormAsync(request.HttpContext.RequestAborted);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>A parameter sent exactly once with a non-empty value; null when absent, empty or repeated (RFC 6749 §3.1).</summary>
    public static string? Single(IEnumerable<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>> source, string name)
    {
        foreach (var (key, values) in source)
        {
            if (key == name)
            {
                return values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
            }
        }

        return null;
    }
}
