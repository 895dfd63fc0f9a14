using WebexGateway.Grants;
using WebexGateway.Storage;

namespace WebexGateway.Auth;

/// <summary>Who a request's session belongs to, and that person's grant: the question behind every signed-in call.</summary>
/// <remarks>
/// The answer found for a remembered cookie is kept on it as a <see cref="VerifiedGrant"/>, and the cookie's next calls
/// get it with no more than the cookie's own look-up, for as long as the cached session and grant it rests on have not
/// changed. With many sessions that matters: each look-up of a cached record touches memory the processor no longer
/// holds, and a call made half a dozen of them.
/// </remarks>
public sealed class SignedInGrants(SessionCookies sessions, GrantStore grants, TimeProvider time)
{
    /// <summary>
    /// The grant of the session's person, or null when there is no session, no grant, or the grant is not the one the
    /// session was signed in with: a logout or <c>invalid_grant</c> ended the person's grant, and a later sign-in started
    /// another, which no session from before may use. Decided in memory, from the cached session and grant.
    /// </summary>
    public async ValueTask<Grant?> GetAsync(HttpContext context) => (await FindAsync(context))?.Grant;

    /// <summary>As <see cref="GetAsync"/>, with the Authorization header a call made with the grant carries.</summary>
    public async ValueTask<VerifiedGrant?> FindAsync(HttpContext context)
    {
        var remembered = sessions.RememberedOf(context);
        if (remembered?.Grant is { } known && known.Holds(time.GetTimestamp()))
        {
            return known;
        }

        var session = await sessions.FindAsync(context, remembered);
        if (session.Owner is not { } owner)
        {
            return null;
        }

        var (grant, stamp) = await grants.GetStampedAsync(owner.PersonId, context.RequestAborted);
        if (grant is not { Generation.Length: > 0 } || !string.Equals(grant.Generation, owner.GrantGeneration, StringComparison.Ordinal))
        {
            return null;
        }

        if (remembered?.Grant is { } same && same.RestsOn(grant, session.Stamp, stamp))
        {
            // Found again only because a record it rests on fell due to be read again: nothing changed, and a new finding
            // on a long-lived cookie would be garbage the collector carries into its older generations.
            return same;
        }

        var verified = new VerifiedGrant(grant, session.Stamp, stamp, session.ValidBefore);
        if (session.Cookie is { } cookie)
        {
            cookie.Grant = verified;
        }

        return verified;
    }
}

/// <summary>
/// A grant found to be the one a session cookie's calls carry, and what that finding rests on: the cached session and
/// grant it was decided from, as they were (their stamps, which also end when either is due to be read again), and a time
/// before which the session needs no work of the cookie handler.
/// </summary>
public sealed class VerifiedGrant(Grant grant, RecordStamp session, RecordStamp grantStamp, long validBefore)
{
    public Grant Grant { get; } = grant;

    /// <summary>The Authorization header a call to Webex made with the grant carries.</summary>
    public string Authorization { get; } = BearerHeader.Of(grant.AccessToken);

    public bool Holds(long timestamp) => timestamp < validBefore && session.Holds(timestamp) && grantStamp.Holds(timestamp);

    /// <summary>
    /// True when this finding rests on <paramref name="found"/> as cached with the same stamps: the cached session and
    /// grant have not changed since, and the cookie handler's time, which depends only on the session, is the same.
    /// </summary>
    public bool RestsOn(Grant found, RecordStamp sessionNow, RecordStamp grantNow)
        => ReferenceEquals(Grant, found) && session.IsSameAs(sessionNow) && grantStamp.IsSameAs(grantNow);
}
