using System.Collections.Concurrent;
using Microsoft.AspNetCore.Authentication;

namespace WebexGateway.Auth;

/// <summary>
/// The session cookie's format, remembering what each cookie it decrypted holds. The cookie only carries the session
/// id, and a cookie's content never changes, so decrypting the same cookie again on every request is pure cost; whether
/// the session is still valid is the session store's answer, asked every time.
/// </summary>
public sealed class RememberedCookies(ISecureDataFormat<AuthenticationTicket> inner) : ISecureDataFormat<AuthenticationTicket>
{
    /// <summary>Past this many, the memory starts over: only cookies that decrypted are remembered, so it stays small.</summary>
    private const int Capacity = 100_000;

    private readonly ConcurrentDictionary<string, AuthenticationTicket> _tickets = new(StringComparer.Ordinal);

    public string Protect(AuthenticationTicket data) => inner.Protect(data);

    public string Protect(AuthenticationTicket data, string? purpose) => inner.Protect(data, purpose);

    public AuthenticationTicket? Unprotect(string? protectedText) => Unprotect(protectedText, null);

    public AuthenticationTicket? Unprotect(string? protectedText, string? purpose)
    {
        if (protectedText is null || purpose is not null)
        {
            return inner.Unprotect(protectedText, purpose);
        }

        if (_tickets.TryGetValue(protectedText, out var ticket))
        {
            return ticket;
        }

        ticket = inner.Unprotect(protectedText);
        if (ticket is not null)
        {
            if (_tickets.Count >= Capacity)
            {
                _tickets.Clear();
            }

            _tickets[protectedText] = ticket;
        }

        return ticket;
    }
}
