using System.Security.Claims;

namespace WebexGateway.Auth;

public static class WebexClaims
{
    /// <summary>The Webex person id: the key of the user's grant.</summary>
    public const string PersonId = "webex:person_id";

    /// <summary>The generation of the person's grant the session was signed in with (<see cref="Grants.Grant.Generation"/>).</summary>
    public const string GrantGeneration = "webex:grant_generation";

    public static string? GetPersonId(this ClaimsPrincipal user) => user.FindFirst(PersonId)?.Value;

    public static string? GetGrantGeneration(this ClaimsPrincipal user) => user.FindFirst(GrantGeneration)?.Value;
}
