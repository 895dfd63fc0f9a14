using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using StackExchange.Redis;
using WebexGateway.Telemetry;

namespace WebexGateway.Storage;

/// <summary>
/// The Data Protection key ring as stored in Redis. With <c>DataProtection:CertificatePath</c> set, every key the
/// gateway writes has its secret encrypted with the certificate; a key whose secret is not (plain text, or "encrypted"
/// with a decryptor that needs no certificate) was written by somebody else who can write to Redis, who knows its
/// secret: such a key is left out of the ring, logged by id, and the instance is not ready (<see cref="RefusedKeys"/>).
/// <para>
/// Instances started together on an empty store all find no key and each create one; each would then keep, for up to a
/// day, a ring that may lack the others' keys and refuse their cookies. So the first key is written only while the list
/// is still absent: an instance that finds another's key there instead discards its own and uses that one.
/// </para>
/// </summary>
public sealed class StoredKeyRing(IXmlRepository redis, Func<IDatabase> database, RedisKey list, bool requireEncryptedKeys, ILogger<StoredKeyRing> logger) : IXmlRepository
{
    private const string PushFirstScript = "if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('RPUSH', KEYS[1], ARGV[1]) return 1 end return 0";

    private static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";
    private static readonly XName EncryptedSecret = DataProtection + "encryptedSecret";
    private static readonly XName RequiresEncryption = DataProtection + "requiresEncryption";
    private static readonly string CertificateDecryptor = typeof(EncryptedXmlDecryptor).FullName!;
    private static readonly string CertificateDecryptorAssembly = typeof(EncryptedXmlDecryptor).Assembly.GetName().Name!;

    private volatile IReadOnlyList<string> _refusedKeys = [];
    private volatile bool _readEmpty;

    /// <summary>The ids of the keys left out when the ring was last read; empty when there were none.</summary>
    public IReadOnlyList<string> RefusedKeys => _refusedKeys;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var elements = redis.GetAllElements();
        _readEmpty = elements.Count == 0;
        if (!requireEncryptedKeys)
        {
            return elements;
        }

        var accepted = new List<XElement>(elements.Count);
        var refused = new List<string>();
        foreach (var element in elements)
        {
            if (element.Name == "key" && !HasCertificateEncryptedSecret(element))
            {
                // Whoever planted it wrote the id too: only a well-formed one reaches the log and the health check.
                var id = IdOf(element);
                refused.Add(id);
                Log.UnencryptedKeyRefused(logger, id);
                continue;
            }

            // Revocations and anything else carry no secret: they can only take keys away.
            accepted.Add(element);
        }

        _refusedKeys = refused;
        return accepted;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        // Data Protection creates a key right after reading the ring; an empty read means this is meant as the first one.
        if (element.Name != "key" || !_readEmpty)
        {
            redis.StoreElement(element, friendlyName);
            return;
        }

        _readEmpty = false;
        var written = (long)database().ScriptEvaluate(PushFirstScript, [list], [element.ToString(SaveOptions.DisableFormatting)]) == 1;
        if (written)
        {
            return;
        }

        // Data Protection reads the ring again after creating a key, and then finds the other instance's key alone.
        var theirs = GetAllElements().FirstOrDefault(stored => stored.Name == "key");
        if (theirs is null)
        {
            // Only something else was written meanwhile (a revocation): no key to share, so this one is needed.
            redis.StoreElement(element, friendlyName);
            return;
        }

        Log.FirstKeyMadeElsewhere(logger, IdOf(theirs), IdOf(element));
    }

    private static string IdOf(XElement key) => Guid.TryParse((string?)key.Attribute("id"), out var keyId) ? keyId.ToString() : "(no valid id)";

    /// <summary>
    /// The key's descriptor holds its secret only as an <c>encryptedSecret</c> that the certificate decryptor opens, and
    /// nothing marked as needing encryption is left in the clear beside it.
    /// </summary>
    private static bool HasCertificateEncryptedSecret(XElement key)
    {
        var descriptor = key.Element("descriptor");
        if (descriptor is null)
        {
            return false;
        }

        var secrets = descriptor.Descendants(EncryptedSecret).ToList();
        return secrets.Count > 0
            && secrets.All(secret => IsCertificateDecryptor((string?)secret.Attribute("decryptorType")))
            && !descriptor.Descendants().Any(element => ((string?)element.Attribute(RequiresEncryption))?.Trim() is "true" or "1");
    }

    /// <summary>An assembly-qualified type name naming the certificate decryptor in Data Protection's own assembly.</summary>
    private static bool IsCertificateDecryptor(string? typeName)
    {
        var parts = (typeName ?? "").Split(',', StringSplitOptions.TrimEntries);
        return parts.Length >= 2 && parts[0] == CertificateDecryptor && parts[1] == CertificateDecryptorAssembly;
    }
}
