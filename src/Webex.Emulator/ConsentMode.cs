namespace Webex.Emulator;

/// <summary>How <c>GET /v1/authorize</c> answers.</summary>
public enum ConsentMode
{
    /// <summary>Redirects straight back with a code.</summary>
    AutoApprove,

    /// <summary>Redirects straight back with <c>error=access_denied</c>.</summary>
    Deny,

    /// <summary>Shows an HTML consent page whose Accept and Decline buttons post back to the emulator.</summary>
    Page,
}
