using System.Security.Cryptography;

namespace Webex.Emulator.Internal;

internal static class Secrets
{
    // Same shape as real Webex tokens and codes: base64 of a uuid plus part of another, the cluster, the org uuid.
    public static string NewToken(Guid orgId)
    {
        var head = new Guid(RandomNumberGenerator.GetBytes(16)).ToString();
        var tail = new Guid(RandomNumberGenerator.GetBytes(16)).ToString()[..12];
        return $"{WebexIds.Encode(head + tail)}_PF84_{orgId}";
    }

    public static string NewOpaqueId() => Base64Url(RandomNumberGenerator.GetBytes(24));

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string NewTrackingId() => "ROUTER_" + Guid.NewGuid().ToString().ToUpperInvariant();
}
