namespace WebexGateway.Auth;

/// <summary>
/// A cross-site form or image cannot set a custom header, so its presence proves a same-origin script (or an allowed
/// CORS origin). Required on every call that acts with the user's session.
/// </summary>
public static class CsrfHeader
{
    public const string Name = "X-CSRF";

    public static bool IsPresent(HttpRequest request) => request.Headers[Name] == "1";
}
