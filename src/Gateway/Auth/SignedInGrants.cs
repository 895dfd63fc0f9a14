using Microsoft.AspNetCore.Authentication;
using WebexGateway.Grants;

namespace WebexGateway.Auth;

/// <summary>Who a request's session belongs to, and that person's grant: the question behind every signed-in call.</summary>
public sealed class SignedInGrants(GrantStore grants)
{
    /// <summary>The Webex person of the request's session, or null when it has none (or it ended).</summary>
    public static async Task<string?> PersonIdAsync(HttpContext context)
    {
        var session = await context.AuthenticateAsync(AuthExtensions.CookieScheme);
        return session.Principal?.GetPersonId();
    }

    /// <summary>The grant of the session's person, or null when there is no session or no grant.</summary>
    public async ValueTask<Grant?> GetAsync(HttpContext context)
        => await PersonIdAsync(context) is { } personId ? await grants.GetAsync(personId, context.RequestAborted) : null;
}
