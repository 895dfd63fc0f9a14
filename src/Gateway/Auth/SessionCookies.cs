using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;

namespace WebexGateway.Auth;

/// <summary>
/// The signed-in person behind a request's session cookie. A cookie this instance has decrypted before, whose session
/// is neither expired, nor due for its sliding renewal, nor past its absolute lifetime, is answered from the remembered
/// cookie and the cached session: ASP.NET Core's cookie handler would do nothing else for it but cost a handler, its
/// events and a response callback on every call. Any other cookie goes to the handler, which renews, ends or refuses it.
/// </summary>
public sealed class SessionCookies(
    IOptionsMonitor<CookieAuthenticationOptions> cookies,
    RedisTicketStore sessions,
    IOptions<SessionLifetimeOptions> lifetime,
    TimeProvider time)
{
    /// <summary>The cookie handler keeps the session store's key under this claim of the cookie's own ticket.</summary>
    public const string SessionIdClaim = "Microsoft.AspNetCore.Authentication.Cookies-SessionId";

    private readonly TimeSpan _absoluteLifetime = lifetime.Value.AbsoluteLifetime;

    /// <summary>Whose the request's session is, or null when the request has no valid session.</summary>
    public async ValueTask<SessionOwner?> OwnerAsync(HttpContext context)
    {
        var options = cookies.Get(AuthExtensions.CookieScheme);
        if (RememberedSessionIdOf(context, options) is { } sessionId)
        {
            var session = await sessions.FindAsync(sessionId);
            if (session is null)
            {
                // The handler would find no session either: logged out, or ended on another instance.
                return null;
            }

            if (!NeedsTheHandler(session, options.SlidingExpiration, time.GetUtcNow()))
            {
                return session.Owner;
            }
        }
        else if (CookieOf(context).Cookie is null)
        {
            return null;
        }

        return SessionOwner.Of((await context.AuthenticateAsync(AuthExtensions.CookieScheme)).Principal);
    }

    /// <summary>The id of the request's session, as its cookie names it; null without a cookie of this gateway's.</summary>
    public string? SessionIdOf(HttpContext context)
    {
        var (options, cookie) = CookieOf(context);
        return cookie is null ? null : options.TicketDataFormat.Unprotect(cookie)?.Principal.FindFirst(SessionIdClaim)?.Value;
    }

    /// <summary>The session a request's cookie names, when this instance has decrypted that cookie before.</summary>
    private static string? RememberedSessionIdOf(HttpContext context, CookieAuthenticationOptions options)
        => options.TicketDataFormat is RememberedCookies remembered
           && SessionCookieHeader.TryRead(context.Request.Headers.Cookie, options.Cookie.Name!, out var cookie)
            ? remembered.SessionIdOf(cookie)
            : null;

    private (CookieAuthenticationOptions Options, string? Cookie) CookieOf(HttpContext context)
    {
        var options = cookies.Get(AuthExtensions.CookieScheme);
        var cookie = options.CookieManager.GetRequestCookie(context, options.Cookie.Name!);
        return (options, string.IsNullOrEmpty(cookie) ? null : cookie);
    }

    /// <summary>
    /// What the cookie handler would act on (CookieAuthenticationHandler, .NET 10): an expired session (it deletes it),
    /// one past half its idle time (sliding renewal: it stores it again and sends a new cookie), and, through the
    /// gateway's validation event, one past its absolute lifetime (it signs it out).
    /// </summary>
    private bool NeedsTheHandler(StoredSession session, bool sliding, DateTimeOffset now)
    {
        if (session.ExpiresUtc is { } expires && expires < now)
        {
            return true;
        }

        if (sliding && session.IssuedUtc is { } issued && session.ExpiresUtc is { } expiresUtc && session.AllowRefresh
            && expiresUtc - now < now - issued)
        {
            return true;
        }

        return StoredSession.IsPastAbsoluteLifetime(session.SignedInAt, _absoluteLifetime, now);
    }
}
