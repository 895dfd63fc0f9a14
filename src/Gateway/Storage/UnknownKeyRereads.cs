using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using Microsoft.AspNetCore.DataProtection.KeyManagement.Internal;

namespace WebexGateway.Storage;

/// <summary>
/// For its first two minutes, Data Protection rereads the whole key ring from the store, synchronously, for every
/// value naming a key it does not know, so that an instance started a moment ago reads what another has just written.
/// A session cookie or OAuth state comes from the client, which may name a new made-up key on every request: each one
/// then held a thread on a store round trip, and on the embedded store, whose server shares the thread pool, a flood
/// of them right after a restart starved it until nobody was served. Here an unknown key may cause one reread every
/// <see cref="Interval"/>; a value naming an unknown key in between is unreadable at once (401, 400 page), as it is
/// after the two minutes anyway. Values naming a known key are not delayed.
/// </summary>
public sealed class UnknownKeyRereads(IKeyRingProvider keyRing, TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>Data Protection's payload: this header, then the key id, then the ciphertext.</summary>
    private const uint MagicHeader = 0x09F0C9F0;

    /// <summary>The header and key id (20 bytes), as base64url: 27 characters, 28 for whole 3-byte groups.</summary>
    private const int PrefixChars = 28;

    private long _lastReread = long.MinValue;

    /// <summary>False when the value names a key the ring does not hold and a reread for one happened too recently.</summary>
    public bool MayRead(string protectedText)
    {
        if (KeyIdOf(protectedText) is not { } keyId || IsKnown(keyId))
        {
            return true;
        }

        var now = time.GetTimestamp();
        var last = Volatile.Read(ref _lastReread);
        if (last != long.MinValue && time.GetElapsedTime(last, now) < Interval)
        {
            return false;
        }

        return Interlocked.CompareExchange(ref _lastReread, now, last) == last;
    }

    /// <summary>A ring that cannot be read is not decided here: the format's own reading then reports the store.</summary>
    private bool IsKnown(Guid keyId)
    {
        try
        {
            return keyRing.GetCurrentKeyRing().GetAuthenticatedEncryptorByKeyId(keyId, out _) is not null;
        }
        catch (Exception)
        {
            return true;
        }
    }

    /// <summary>The key a payload names; null when it is no payload (which Data Protection refuses without a reread).</summary>
    private static Guid? KeyIdOf(string protectedText)
    {
        if (protectedText.Length < PrefixChars)
        {
            return null;
        }

        Span<byte> prefix = stackalloc byte[21];
        if (Base64Url.DecodeFromChars(protectedText.AsSpan(0, PrefixChars), prefix, out _, out var written) != OperationStatus.Done
            || written != prefix.Length
            || BinaryPrimitives.ReadUInt32BigEndian(prefix) != MagicHeader)
        {
            return null;
        }

        return new Guid(prefix.Slice(4, 16));
    }
}
