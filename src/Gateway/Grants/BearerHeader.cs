using WebexGateway.Storage;

namespace WebexGateway.Grants;

/// <summary>
/// <c>Bearer &lt;token&gt;</c>, the Authorization a call to Webex carries, made once per token: a token is the same
/// string on every call while its grant is cached (or its bot configured).
/// </summary>
public static class BearerHeader
{
    // Tokens change only when refreshed, every two weeks or so: few are ever made, so the memory rarely starts over.
    private static readonly DerivedStrings Made = new(static token => "Bearer " + token, capacity: 50_000);

    public static string Of(string accessToken) => Made.Of(accessToken);
}
