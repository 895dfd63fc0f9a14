using System.Globalization;
using Microsoft.AspNetCore.Authentication;

namespace WebexGateway.Auth;

/// <summary>
/// A session as this instance decoded it: what a signed-in call asks of it, read from the ticket once (its properties
/// keep their times as text, which every call would otherwise parse again), and the ticket itself as the bytes it is
/// stored as, made again whenever the cookie handler asks for it.
/// </summary>
/// <remarks>
/// The handler asks only on a cookie's first call on an instance and when the session is due for its work, while the
/// cache holds every session for as long as it is in use. Decoded, a ticket is a principal, its identity and claims, a
/// dictionary per claim and one of properties: about 1.5 KB in two dozen objects that the collector carries into its
/// oldest generation.
/// </remarks>
public sealed class StoredSession
{
    /// <summary>Where the session's sign-in time is kept apart: sliding renewal moves <c>IssuedUtc</c>.</summary>
    public const string SignedInAtKey = "webex-gateway.signed-in-at";

    private readonly byte[] _ticket;

    /// <param name="serialized">The ticket as <see cref="TicketSerializer"/> wrote it, kept (not copied).</param>
    /// <param name="ticket">The same ticket, decoded.</param>
    public StoredSession(byte[] serialized, AuthenticationTicket ticket)
    {
        _ticket = serialized;
        var properties = ticket.Properties;
        ExpiresUtc = properties.ExpiresUtc;
        IssuedUtc = properties.IssuedUtc;
        AllowRefresh = properties.AllowRefresh ?? true;
        SignedInAt = SignedInAtOf(properties);
        Owner = SessionOwner.Of(ticket.Principal);
    }

    /// <summary>The session as it was stored, or null when the bytes are not a ticket.</summary>
    public static StoredSession? Read(byte[] serialized)
        => TicketSerializer.Default.Deserialize(serialized) is { } ticket ? new StoredSession(serialized, ticket) : null;

    /// <summary>The session's ticket, a new one on each call: the cookie handler's to read and change.</summary>
    public AuthenticationTicket ReadTicket() => TicketSerializer.Default.Deserialize(_ticket)!;

    public DateTimeOffset? ExpiresUtc { get; }

    public DateTimeOffset? IssuedUtc { get; }

    public bool AllowRefresh { get; }

    /// <summary>When the person signed in; null in a session that does not say.</summary>
    public DateTimeOffset? SignedInAt { get; }

    public SessionOwner? Owner { get; }

    /// <summary>True when the session's absolute lifetime has run out, or it has no sign-in time of its own.</summary>
    public static bool IsPastAbsoluteLifetime(DateTimeOffset? signedInAt, TimeSpan absoluteLifetime, DateTimeOffset now) =>
        signedInAt is not { } at || at + absoluteLifetime <= now;

    public static DateTimeOffset? SignedInAtOf(AuthenticationProperties properties) =>
        properties.Items.TryGetValue(SignedInAtKey, out var signedInAt)
        && long.TryParse(signedInAt, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
}
