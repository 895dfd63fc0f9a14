using System.Text;

namespace Webex.Emulator.Internal;

/// <summary>Webex ids are unpadded standard base64 of <c>ciscospark://us/KIND/uuid</c>.</summary>
internal static class WebexIds
{
    public static string Encode(string kind, Guid id) => Encode($"ciscospark://us/{kind}/{id}");

    public static string Encode(string uri) => Convert.ToBase64String(Encoding.UTF8.GetBytes(uri)).TrimEnd('=');

    public static Guid? TryGetGuid(string webexId)
    {
        var padded = webexId.PadRight(webexId.Length + ((4 - (webexId.Length % 4)) % 4), '=');
        var bytes = new byte[padded.Length];
        if (!Convert.TryFromBase64String(padded, bytes, out var written))
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(bytes, 0, written);
        return Guid.TryParse(text[(text.LastIndexOf('/') + 1)..], out var guid) ? guid : null;
    }

    public static Guid NewGuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 (Guid's byte layout is little-endian for the first fields)
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }
}
