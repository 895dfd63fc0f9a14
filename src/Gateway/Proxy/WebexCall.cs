namespace WebexGateway.Proxy;

/// <summary>The state of one call on a Webex route (user or bot), shared by the middleware and the transforms.</summary>
public sealed class WebexCall(string personId, string accessToken, bool canReplay)
{
    /// <summary>The signed-in person (empty on a public bot route).</summary>
    public string PersonId { get; } = personId;

    /// <summary>Read by the request transform on every attempt, so a replay carries the refreshed token.</summary>
    public string AccessToken { get; set; } = accessToken;

    public bool CanReplay { get; } = canReplay;

    /// <summary>Set on a bot route: the bot whose configured token is sent. Such a call is never refreshed or replayed.</summary>
    public string? BotName { get; init; }

    public int Attempt { get; set; } = 1;

    /// <summary>Webex answered 401 and the body was held back, so the request can still be replayed (or, for a bot, answered 502).</summary>
    public bool UnauthorizedHeldBack { get; set; }

    /// <summary>Webex answered 401 and it went to the client as it was.</summary>
    public bool UnauthorizedPassedOn { get; set; }
}
