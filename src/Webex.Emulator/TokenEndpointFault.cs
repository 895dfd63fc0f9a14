namespace Webex.Emulator;

/// <summary>A failure injected into every <c>POST /v1/access_token</c>.</summary>
public enum TokenEndpointFault
{
    None,

    /// <summary>500 with a Webex JSON error body.</summary>
    ServerError,

    /// <summary>503 with a Webex JSON error body.</summary>
    Unavailable,

    /// <summary>The connection is aborted without a response.</summary>
    DropConnection,
}
