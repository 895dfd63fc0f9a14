using System.Security.Claims;

namespace WebexGateway.Auth;

/// <summary>Whose a session is: the Webex person, and the generation of their grant it was signed in with.</summary>
public sealed record SessionOwner(string PersonId, string? GrantGeneration)
{
    public static SessionOwner? Of(ClaimsPrincipal? principal) =>
        principal?.GetPersonId() is { } personId ? new SessionOwner(personId, principal.GetGrantGeneration()) : null;
}
