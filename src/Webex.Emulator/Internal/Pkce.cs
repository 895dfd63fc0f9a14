using System.Security.Cryptography;
using System.Text;

namespace Webex.Emulator.Internal;

/// <summary>RFC 7636 (S256 only).</summary>
internal static class Pkce
{
    // Verifiers and S256 challenges share the same alphabet and length bounds.
    public static bool IsWellFormed(string value) =>
        value.Length is >= 43 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    public static bool Matches(string verifier, string challenge)
    {
        if (!IsWellFormed(verifier))
        {
            return false;
        }

        var expected = Secrets.Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(challenge));
    }
}
