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
