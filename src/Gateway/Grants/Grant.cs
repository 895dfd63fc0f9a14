using System.Security.Cryptography;

namespace WebexGateway.Grants;

/// <summary>
/// A Webex user's consent, as the token endpoint returned it. One per Webex person: every session,
/// every frontend app and every gateway instance of that person uses it.
/// </summary>
public sealed record Grant(
    string PersonId,
    string DisplayName,
    IReadOnlyList<string> Emails,
    string Scopes,
    string AccessToken,
    DateTimeOffset AccessTokenExpiresAt,
    string RefreshToken,
    DateTimeOffset RefreshTokenExpiresAt)
{
    /// <summary>
    /// Which sign-in of the person this grant continues: random, kept across refreshes and across sign-ins while the grant
    /// exists, new once it was deleted (logout, <c>invalid_grant</c>). A session carries the generation it was made with,
    /// so no session from before a logout comes back with a later sign-in. Empty in grants stored before it existed.
    /// </summary>
    public string Generation { get; init; } = "";

    public static string NewGeneration() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public bool AccessTokenExpiresWithin(TimeSpan window, DateTimeOffset now) => AccessTokenExpiresAt - window <= now;

    /// <summary>The grant after a refresh; Webex may or may not send a new refresh token.</summary>
    public Grant Refreshed(TokenResponse response, DateTimeOffset now) => this with
    {
        AccessToken = response.AccessToken,
        AccessTokenExpiresAt = now.AddSeconds(response.ExpiresIn),
        RefreshToken = response.RefreshToken ?? RefreshToken,
        RefreshTokenExpiresAt = response.RefreshTokenExpiresIn is { } seconds ? now.AddSeconds(seconds) : RefreshTokenExpiresAt,
        Scopes = response.Scope ?? Scopes,
    };
}
