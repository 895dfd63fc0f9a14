using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using WebexGateway.Telemetry;

namespace WebexGateway.Storage;

/// <summary>
/// The Data Protection key ring as stored in Redis. With <c>DataProtection:CertificatePath</c> set, every key the
/// gateway writes has its secret encrypted with the certificate; a key whose secret is not (plain text, or "encrypted"
/// with a decryptor that needs no certificate) was written by somebody else who can write to Redis, who knows its
/// secret: such a key is left out of the ring, logged by id, and the instance is not ready (<see cref="RefusedKeys"/>).
/// </summary>
public sealed class StoredKeyRing(IXmlRepository redis, bool requireEncryptedKeys, ILogger<StoredKeyRing> logger) : IXmlRepository
{
    private static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";
    private static readonly XName EncryptedSecret = DataProtection + "encryptedSecret";
    private static readonly XName RequiresEncryption = DataProtection + "requiresEncryption";
    private static readonly string CertificateDecryptor = typeof(EncryptedXmlDecryptor).FullName!;
    private static readonly string CertificateDecryptorAssembly = typeof(EncryptedXmlDecryptor).Assembly.GetName().Name!;

    private volatile IReadOnlyList<string> _refusedKeys = [];

    /// <summary>The ids of the keys left out when the ring was last read; empty when there were none.</summary>
    public IReadOnlyList<string> RefusedKeys => _refusedKeys;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var elements = redis.GetAllElements();
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
                var id = Guid.TryParse((string?)element.Attribute("id"), out var keyId) ? keyId.ToString() : "(no valid id)";
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

    public void StoreElement(XElement element, string friendlyName) => redis.StoreElement(element, friendlyName);

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
