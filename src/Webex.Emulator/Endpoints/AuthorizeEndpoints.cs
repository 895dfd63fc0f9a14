using System.Text;
using Microsoft.AspNetCore.Http;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

/// <summary>
/// <c>GET /v1/authorize</c> and the consent page's <c>POST /v1/authorize/decision</c>. Who consents is the person whose
/// email is the <c>login_hint</c> (or <c>email</c>) parameter, or the default person when there is none.
/// </summary>
internal static class AuthorizeEndpoints
{
    private const string DeniedDescription = "The resource owner or authorization server denied the request.";

    public static async Task AuthorizeAsync(RequestContext r)
    {
        var query = r.Http.Request.Query;
        var clientId = FormReader.Single(query, "client_id");
        var redirectUri = FormReader.Single(query, "redirect_uri");

        // Until client_id and redirect_uri are validated, errors are shown here: never redirect to an unvalidated URI.
        if (clientId is null || !r.State.Settings.Clients.ContainsKey(clientId))
        {
            await HtmlPages.ErrorAsync(r.Http, "invalid_client", "The client_id is missing or does not belong to a registered integration.");
            return;
        }

        if (redirectUri is null || !IsAcceptableRedirectUri(redirectUri))
        {
            await HtmlPages.ErrorAsync(r.Http, "invalid_request", "The redirect_uri is missing, repeated or not an absolute URI without a fragment.");
            return;
        }

        if (FormReader.Single(query, "response_type") != "code")
        {
            await HtmlPages.ErrorAsync(r.Http, "unsupported_response_type", "The response_type must be \"code\".");
            return;
        }

        var state = FormReader.Single(query, "state");
        var challenge = FormReader.Single(query, "code_challenge");
        if (challenge is not null && FormReader.Single(query, "code_challenge_method") != "S256")
        {
            Redirect(r.Http, redirectUri, state, ("error", "invalid_request"), ("error_description", "The code_challenge_method must be S256."));
            return;
        }

        if (challenge is not null && !Pkce.IsWellFormed(challenge))
        {
            Redirect(r.Http, redirectUri, state, ("error", "invalid_request"), ("error_description", "The code_challenge is malformed."));
            return;
        }

        var scope = FormReader.Single(query, "scope");
        if (string.IsNullOrWhiteSpace(scope))
        {
            Redirect(r.Http, redirectUri, state, ("error", "invalid_scope"), ("error_description", "The scope parameter is required."));
            return;
        }

        var hint = FormReader.Single(query, "login_hint") ?? FormReader.Single(query, "email");
        var person = hint is null ? r.State.Settings.Person : r.State.Settings.FindByEmail(hint);
        if (person is null)
        {
            // Webex would ask that user to sign in; the emulator knows only its configured people, and silently
            // signing in someone else would hide a client's mistake.
            await HtmlPages.ErrorAsync(r.Http, "unknown_user", "The login_hint does not name a person of this Webex emulator.");
            return;
        }

        var withheld = r.State.WithheldScopes;
        if (withheld.Count > 0)
        {
            scope = string.Join(' ', scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(s => !withheld.Contains(s)));
        }

        var request = new AuthorizationRequest(clientId, redirectUri, scope, state, challenge, person.Id);
        switch (r.State.Consent)
        {
            case ConsentMode.Deny:
                Redirect(r.Http, redirectUri, state, ("error", "access_denied"), ("error_description", DeniedDescription));
                break;
            case ConsentMode.Page:
                await HtmlPages.ConsentAsync(r.Http, r.State.Settings, request, r.State.OAuth.CreateConsent(request));
                break;
            default:
                Redirect(r.Http, redirectUri, state, ("code", r.State.OAuth.IssueCode(request)));
                break;
        }
    }

    public static async Task DecisionAsync(RequestContext r)
    {
        var form = await FormReader.TryReadAsync(r.Http.Request);
        var consentId = form is null ? null : FormReader.Single(form, "consent_id");
        var decision = form is null ? null : FormReader.Single(form, "decision");
        if (consentId is null || decision is not ("accept" or "decline"))
        {
            await HtmlPages.ErrorAsync(r.Http, "invalid_request", "The consent form was not submitted correctly.");
            return;
        }

        if (r.State.OAuth.TakeConsent(consentId) is not { } request)
        {
            await HtmlPages.ErrorAsync(r.Http, "invalid_request", "This consent request is unknown, was already answered or has expired. Start signing in again.");
            return;
        }

        if (decision == "accept")
        {
            Redirect(r.Http, request.RedirectUri, request.State, ("code", r.State.OAuth.IssueCode(request)));
        }
        else
        {
            Redirect(r.Http, request.RedirectUri, request.State, ("error", "access_denied"), ("error_description", DeniedDescription));
        }
    }

    private static bool IsAcceptableRedirectUri(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && !value.Contains('#')
        && uri.Scheme is not ("javascript" or "data" or "vbscript" or "file");

    private static void Redirect(HttpContext context, string redirectUri, string? state, params (string Name, string Value)[] parameters)
    {
        var location = new StringBuilder(redirectUri);
        var separator = !redirectUri.Contains('?') ? "?" : redirectUri.EndsWith('?') || redirectUri.EndsWith('&') ? "" : "&";
        foreach (var (name, value) in state is null ? parameters : [.. parameters, ("state", state)])
        {
            location.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = "&";
        }

        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.Location = location.ToString();
        context.Response.Headers.CacheControl = "no-store";
    }
}
