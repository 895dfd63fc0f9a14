using WebexGateway.Grants;

namespace WebexGateway.Auth;

/// <summary>Who a request's session belongs to, and that person's grant: the question behind every signed-in call.</summary>
public sealed class SignedInGrants(SessionCookies sessions, GrantStore grants)
{
    /// <summary>
    /// The grant of the session's person, or null when there is no session, no grant, or the grant is not the one the
    /// session was signed in with: a logout or <c>invalid_grant</c> ended the person's grant, and a later sign-in started
    /// another, which no session from before may use. Decided in memory, from the cached session and grant.
    /// </summary>
    public async ValueTask<Grant?> GetAsync(HttpContext context)
    {
        if (await sessions.OwnerAsync(context) is not { } owner)
        {
            return null;
        }

        var grant = await grants.GetAsync(owner.PersonId, context.RequestAborted);
        return grant is { Generation.Length: > 0 } && string.Equals(grant.Generation, owner.GrantGeneration, StringComparison.Ordinal)
            ? grant
            : null;
    }
}
