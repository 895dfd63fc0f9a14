using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Storage;

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
    public async ValueTask<SessionOwner?> OwnerAsync(HttpContext context) => (await FindAsync(context, RememberedOf(context))).Owner;

    /// <summary>
    /// Whose the request's session is and, when that was answered from the remembered cookie and the cached session,
    /// what that answer rests on: the session's stamp, and the moment the cookie handler would first have to act.
    /// </summary>
    /// <param name="remembered">What <see cref="RememberedOf(HttpContext)"/> answered for this request.</param>
    public async ValueTask<FoundSession> FindAsync(HttpContext context, RememberedCookie? remembered)
    {
        var options = cookies.Get(AuthExtensions.CookieScheme);
        if (remembered is not null)
        {
            var (session, stamp) = await sessions.FindStampedAsync(remembered.SessionId);
            if (session is null)
            {
                // The handler would find no session either: logged out, or ended on another instance.
                return default;
            }

            var now = time.GetUtcNow();
            if (!NeedsTheHandler(session, options.SlidingExpiration, now))
            {
                var handlerDue = HandlerDue(session, options.SlidingExpiration);
                return new FoundSession(session.Owner, remembered, stamp, time.GetTimestamp() + Ticks(handlerDue - now));
            }
        }
        else if (CookieOf(context).Cookie is null)
        {
            return default;
        }

        return new FoundSession(SessionOwner.Of((await context.AuthenticateAsync(AuthExtensions.CookieScheme)).Principal), null, RecordStamp.None, 0);
    }

    /// <summary>What this instance remembers of the request's session cookie, if it has decrypted that cookie before.</summary>
    public RememberedCookie? RememberedOf(HttpContext context) => RememberedOf(context, cookies.Get(AuthExtensions.CookieScheme));

    /// <summary>The id of the request's session, as its cookie names it; null without a cookie of this gateway's.</summary>
    public string? SessionIdOf(HttpContext context)
    {
        var (options, cookie) = CookieOf(context);
        return cookie is null ? null : options.TicketDataFormat.Unprotect(cookie)?.Principal.FindFirst(SessionIdClaim)?.Value;
    }

    private static RememberedCookie? RememberedOf(HttpContext context, CookieAuthenticationOptions options)
        => options.TicketDataFormat is RememberedCookies remembered
           && SessionCookieHeader.TryRead(context.Request.Headers.Cookie, options.Cookie.Name!, out var cookie)
            ? remembered.Of(cookie)
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

    /// <summary>
    /// The first moment <see cref="NeedsTheHandler"/> could be true, for a session it is not true of now: its end, the
    /// middle of its idle time, the end of its absolute lifetime, whichever comes first.
    /// </summary>
    private DateTimeOffset HandlerDue(StoredSession session, bool sliding)
    {
        var due = session.SignedInAt!.Value + _absoluteLifetime;
        if (session.ExpiresUtc is { } expires)
        {
            due = expires < due ? expires : due;
            if (sliding && session.IssuedUtc is { } issued && session.AllowRefresh)
            {
                var middle = issued + ((expires - issued) / 2);
                due = middle < due ? middle : due;
            }
        }

        return due;
    }

    /// <summary>A span of time in <see cref="TimeProvider"/> timestamp units, never below zero.</summary>
    private long Ticks(TimeSpan span) => span <= TimeSpan.Zero ? 0 : (long)(span.TotalSeconds * time.TimestampFrequency);
}

/// <summary>
/// A request's session owner (null without a valid session) and, when it was answered from the remembered cookie and the
/// cached session, the cookie, the session's stamp and the timestamp before which the cookie handler has nothing to do.
/// </summary>
public readonly record struct FoundSession(SessionOwner? Owner, RememberedCookie? Cookie, RecordStamp Stamp, long ValidBefore);
