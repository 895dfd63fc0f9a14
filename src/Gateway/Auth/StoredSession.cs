using System.Globalization;
using Microsoft.AspNetCore.Authentication;

namespace WebexGateway.Auth;

/// <summary>
/// A session as this instance decoded it: the ticket the cookie handler asks for, and what a signed-in call asks of it,
/// read from the ticket once. Its properties keep their times as text, which every call would otherwise parse again.
/// </summary>
public sealed class StoredSession
{
    /// <summary>Where the session's sign-in time is kept apart: sliding renewal moves <c>IssuedUtc</c>.</summary>
    public const string SignedInAtKey = "webex-gateway.signed-in-at";

    public StoredSession(AuthenticationTicket ticket)
    {
        Ticket = ticket;
        var properties = ticket.Properties;
        ExpiresUtc = properties.ExpiresUtc;
        IssuedUtc = properties.IssuedUtc;
        AllowRefresh = properties.AllowRefresh ?? true;
        SignedInAt = SignedInAtOf(properties);
        Owner = SessionOwner.Of(ticket.Principal);
    }

    public AuthenticationTicket Ticket { get; }

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
