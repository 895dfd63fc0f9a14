using System.Security.Claims;

namespace WebexGateway.Auth;

public static class WebexClaims
{
    /// <summary>The Webex person id: the key of the user's grant.</summary>
    public const string PersonId = "webex:person_id";

    public static string? GetPersonId(this ClaimsPrincipal user) => user.FindFirst(PersonId)?.Value;
}
