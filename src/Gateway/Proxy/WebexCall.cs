using WebexGateway.Grants;

namespace WebexGateway.Proxy;

/// <summary>What the replay middleware tells the transforms about one call on a Webex route.</summary>
public sealed class WebexCall(string accessToken, bool holdBackUnauthorized, string? authorization = null)
{
    private string? _authorization = authorization;

    /// <summary>The Bearer; the request transform reads it on every attempt, so a replay carries the refreshed token.</summary>
    public string AccessToken
    {
        get;
        set
        {
            field = value;
            _authorization = null;
        }
    } = accessToken;

    /// <summary>The Authorization header of <see cref="AccessToken"/>: given with the call's grant, or made on first use.</summary>
    public string Authorization => _authorization ??= BearerHeader.Of(AccessToken);

    /// <summary>
    /// Whether a 401 from Webex is kept from the client (its body not copied, the response not started) so the middleware
    /// can answer in its place: by replaying the request, or for a bot, with a 502.
    /// </summary>
    public bool HoldBackUnauthorized { get; set; } = holdBackUnauthorized;

    /// <summary>The signed-in person the call is made for, when there is one (a public bot route has none).</summary>
    public string? PersonId { get; init; }

    /// <summary>Whose Webex quota the call spends: the person's, or on a bot route the bot's (<c>bot:&lt;name&gt;</c>).</summary>
    public string? Caller { get; init; }

    /// <summary>Whether the call passed the gateway's limits once: a replay is not counted again.</summary>
    public bool Admitted { get; set; }
}
