using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

/// <summary>The state of one <c>/webex/*</c> call, shared by the replay middleware and the transforms.</summary>
public sealed class WebexCall(string personId, string accessToken, bool canReplay)
{
    public const string TokenMetadataKey = "WebexToken";
    public const string UserToken = "User";

    public string PersonId { get; } = personId;

    /// <summary>Read by the request transform on every attempt, so a replay carries the refreshed token.</summary>
    public string AccessToken { get; set; } = accessToken;

    public bool CanReplay { get; } = canReplay;

    public int Attempt { get; set; } = 1;

    /// <summary>Webex answered 401 and the body was held back, so the request can still be replayed.</summary>
    public bool UnauthorizedHeldBack { get; set; }

    /// <summary>Webex answered 401 and it went to the client as it was.</summary>
    public bool UnauthorizedPassedOn { get; set; }

    public static bool UsesUserToken(RouteModel? route)
        => route?.Config.Metadata?.TryGetValue(TokenMetadataKey, out var value) == true && value == UserToken;
}
