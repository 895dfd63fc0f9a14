using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;

namespace WebexGateway.Auth;

/// <summary>
/// The session cookie's format, remembering which session each cookie it decrypted names. With a session store the
/// cookie's own ticket holds nothing but the session id, and a cookie's content never changes, so decrypting the same
/// cookie again on every request is pure cost; whether the session is still valid is the session store's answer, asked
/// every time. Only the id is kept, not the ticket, with the grant the cookie's calls were last found to carry
/// (<see cref="SignedInGrants"/>): a few hundred bytes a cookie.
/// </summary>
public sealed class RememberedCookies(ISecureDataFormat<AuthenticationTicket> inner, string scheme) : ISecureDataFormat<AuthenticationTicket>
{
    /// <summary>Past this many, the memory starts over: only cookies that decrypted are remembered, so it stays small.</summary>
    private const int Capacity = 100_000;

    private readonly ConcurrentDictionary<string, RememberedCookie> _cookies = new(StringComparer.Ordinal);

    public string Protect(AuthenticationTicket data) => inner.Protect(data);

    public string Protect(AuthenticationTicket data, string? purpose) => inner.Protect(data, purpose);

    public AuthenticationTicket? Unprotect(string? protectedText) => Unprotect(protectedText, null);

    public AuthenticationTicket? Unprotect(string? protectedText, string? purpose)
    {
        if (protectedText is null || purpose is not null)
        {
            return inner.Unprotect(protectedText, purpose);
        }

        if (_cookies.TryGetValue(protectedText, out var remembered))
        {
            return TicketNaming(remembered.SessionId);
        }

        var ticket = inner.Unprotect(protectedText);
        if (ticket?.Principal.FindFirst(SessionCookies.SessionIdClaim)?.Value is { } id)
        {
            if (_cookies.Count >= Capacity)
            {
                _cookies.Clear();
            }

            _cookies[protectedText] = new RememberedCookie(id);
        }

        return ticket;
    }

    /// <summary>What this instance knows of a cookie, if it has decrypted that cookie before.</summary>
    public RememberedCookie? Of(ReadOnlySpan<char> protectedText)
        => _cookies.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(protectedText, out var remembered) ? remembered : null;

    /// <summary>The cookie's ticket as the cookie handler makes it when it signs in with a session store.</summary>
    private AuthenticationTicket TicketNaming(string sessionId) =>
        new(new ClaimsPrincipal(new ClaimsIdentity([new Claim(SessionCookies.SessionIdClaim, sessionId)], scheme)), scheme);
}

/// <summary>A session cookie this instance decrypted: the session it names, and the grant its calls were last found to carry.</summary>
public sealed class RememberedCookie(string sessionId)
{
    public string SessionId { get; } = sessionId;

    /// <summary>Kept and checked by <see cref="SignedInGrants"/>; null until a call through this cookie found its grant.</summary>
    public VerifiedGrant? Grant { get; set; }
}
