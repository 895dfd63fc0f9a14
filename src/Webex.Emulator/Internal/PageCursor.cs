using System.Text;
using System.Text.Json;

namespace Webex.Emulator.Internal;

/// <summary>
/// A list's <c>cursor</c> parameter, opaque to clients as Webex's is: a record of where the next page starts (and the
/// first page's filters), as base64url JSON.
/// </summary>
internal static class PageCursor
{
    public static string Encode<T>(T cursor) => Secrets.Base64Url(JsonSerializer.SerializeToUtf8Bytes(cursor, WebexJson.Options));

    /// <summary>The cursor, or null when <paramref name="value"/> is not one of <typeparamref name="T"/>'s.</summary>
    public static T? TryDecode<T>(string value)
        where T : class
    {
        try
        {
            var base64 = value.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            return JsonSerializer.Deserialize<T>(Convert.FromBase64String(base64), WebexJson.Options);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or DecoderFallbackException)
        {
            return null;
        }
    }
}
