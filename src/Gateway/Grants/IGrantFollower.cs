namespace WebexGateway.Grants;

/// <summary>
/// A feature that hangs off a person's grant (their Webex webhooks, their open event streams) and follows it: told after a
/// sign-in stored the grant and after the grant was deleted. A follower does slow work in the background and never throws
/// into the sign-in or logout that told it.
/// </summary>
public interface IGrantFollower
{
    /// <summary>After a sign-in stored the person's grant: a first sign-in, or one that kept or grew its scopes.</summary>
    Task SignedInAsync(Grant grant);

    /// <summary>
    /// After the person's grant was deleted (a logout, or Webex refusing it); <paramref name="last"/> is the grant as the
    /// deleter knew it, when it did, and its token may no longer work.
    /// </summary>
    Task DeletedAsync(string personId, Grant? last);
}
