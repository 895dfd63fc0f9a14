using WebexGateway.Grants;
using WebexGateway.Refusals;

namespace WebexGateway.Proxy;

/// <summary>The Bearer a call to Webex carries, or why it carries none: every case is one of these.</summary>
public abstract record CallToken
{
    private CallToken()
    {
    }

    /// <summary>
    /// The signed-in person's grant: refreshed and replayed when Webex answers 401. With its Authorization header when
    /// the grant came with it.
    /// </summary>
    public sealed record User(Grant Grant, string? Authorization = null) : CallToken;

    /// <summary>A configured bot's token: never refreshed, never replayed; with the signed-in person, unless the route is public.</summary>
    public sealed record Bot(string Name, string AccessToken, string? PersonId = null) : CallToken;

    /// <summary>No session, or its person has no grant: the browser must sign in.</summary>
    public sealed record LoginRequired : CallToken;

    /// <summary>The store or Webex's token endpoint could not answer now; the refusal says which.</summary>
    public sealed record Unavailable(Refusal Refusal) : CallToken;
}
