using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;

namespace WebexGateway.Storage;

/// <summary>
/// A value protected with the key ring (the session cookie, the OAuth state) that ASP.NET Core's format reads as null
/// both when it is forged or stale and when the key ring could not be read from the store: the first is the client's
/// 401 or 400 page, the second a 503 to retry. So when the inner format reads nothing, the key ring is used once more,
/// and the store's error that stops it is thrown, for <see cref="StoreUnavailableHandler"/> or the sign-in's failure page.
/// A value naming a key the ring does not hold is read only when <see cref="UnknownKeyRereads"/> allows its reread.
/// </summary>
public sealed class KeyRingCheckedFormat<TData>(ISecureDataFormat<TData> inner, IDataProtectionProvider protection, UnknownKeyRereads rereads)
    : ISecureDataFormat<TData>
{
    private static readonly byte[] Probe = [1];
    private readonly IDataProtector _probe = protection.CreateProtector("WebexGateway.KeyRingCheck.v1");

    public string Protect(TData data) => inner.Protect(data);

    public string Protect(TData data, string? purpose) => inner.Protect(data, purpose);

    public TData? Unprotect(string? protectedText) => Unprotect(protectedText, null);

    public TData? Unprotect(string? protectedText, string? purpose)
    {
        if (protectedText is not null && !rereads.MayRead(protectedText))
        {
            return default;
        }

        var data = inner.Unprotect(protectedText, purpose);
        if (data is null && !string.IsNullOrEmpty(protectedText))
        {
            ThrowIfTheKeyRingIsUnreachable();
        }

        return data;
    }

    /// <summary>Once the key ring is loaded this costs no store round trip: it is in memory, and refreshed in the background.</summary>
    private void ThrowIfTheKeyRingIsUnreachable()
    {
        try
        {
            _probe.Protect(Probe);
        }
        catch (Exception e) when (e is CryptographicException or InvalidOperationException && !StoreUnavailableHandler.IsStoreUnavailable(e))
        {
            // The key ring is unusable for another reason: the value stays unreadable, as the inner format said.
        }
    }
}
