using System.Text;

namespace WebexGateway.Auth;

/// <summary>
/// Reads a session's ticket with the strings every ticket repeats (property keys, claim types, scheme names) taken from
/// the runtime's pool of string literals, where they already are: one instance for all cached sessions rather than a
/// copy in each. Any other string is read as it is.
/// </summary>
public sealed class SharedStringReader(Stream input) : BinaryReader(input, Encoding.UTF8)
{
    public override string ReadString()
    {
        var read = base.ReadString();
        return string.IsInterned(read) ?? read;
    }
}
