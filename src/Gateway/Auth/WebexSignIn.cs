using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Outbound;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Auth;

/// <summary>The Webex side of a sign-in: who the user is, their grant stored, and clear pages when it fails.</summary>
public sealed class WebexSignIn(IHttpClientFactory httpClients, GrantStore grants, IOptions<WebexOptions> webex, TimeProvider time,
    GatewayMetrics metrics, IOptions<TelemetryOptions> telemetry, SignInLimits limits, ILogger<WebexSignIn> logger)
{
    /// <summary>Where the callback leaves the scopes to ask Webex for again, when the sign-in must not narrow the grant.</summary>
    private static readonly object AskAgainKey = new();

    public async Task OnCreatingTicketAsync(OAuthCreatingTicketContext context)
    {
        var token = context.TokenResponse.Response!.Deserialize(TokenJsonContext.Default.TokenResponse)!;
        var person = await GetMeAsync(token.AccessToken, context.HttpContext.RequestAborted);
        var scopes = token.Scope ?? string.Join(' ', webex.Value.ScopeList);
        var found = await grants.ReadStoredAsync(person.Id);
        // Once per sign-in: a login started without a session does not know the person, so it may have asked for less than
        // their grant holds. Storing that would take scopes away from the apps that asked for them: Webex is asked again,
        // for all of them. The second answer is stored as it is, so a Webex that grants less cannot make a loop.
        var askedAgain = context.Properties.Items.Remove(WebexOAuthHandler.AskedForAllScopesKey);
        if (!askedAgain && found.Grant is { } existing && MissingScopes(existing, scopes) is { Count: > 0 } missing)
        {
            context.HttpContext.Items[AskAgainKey] = new AskAgain([.. Split(scopes), .. missing], person.Emails?.FirstOrDefault());
            Log.AskingForAllScopes(logger, missing.Count);
            return;
        }

        var now = time.GetUtcNow();
        var grant = await grants.SaveSignedInAsync(
            new Grant(
                person.Id,
                person.DisplayName ?? "",
                person.Emails ?? [],
                scopes,
                token.AccessToken,
                now.AddSeconds(token.ExpiresIn),
                token.RefreshToken ?? throw new CallbackException(502, "Webex returned no refresh token."),
                now.AddSeconds(token.RefreshTokenExpiresIn ?? (long)TimeSpan.FromDays(90).TotalSeconds)),
            found);

        context.Identity!.AddClaim(new Claim(WebexClaims.PersonId, person.Id));
        context.Identity.AddClaim(new Claim(WebexClaims.GrantGeneration, grant.Generation));
        context.Identity.AddClaim(new Claim(ClaimTypes.Name, grant.DisplayName));
        metrics.SignIn("success");
        GatewayTelemetry.TagUser(context.HttpContext, person.Id);
        Log.SignedIn(logger, grant.AccessTokenExpiresAt);
    }

    /// <summary>Instead of a session, the browser goes back to Webex once, for the union of the scopes, as the same person.</summary>
    public Task OnTicketReceivedAsync(TicketReceivedContext context)
    {
        if (context.HttpContext.Items[AskAgainKey] is not AskAgain again)
        {
            return Task.CompletedTask;
        }

        context.HandleResponse();
        var properties = new OAuthChallengeProperties { RedirectUri = context.ReturnUri ?? "/", Scope = again.Scopes };
        properties.Items[WebexOAuthHandler.AskedForAllScopesKey] = "1";
        if (again.LoginHint is { Length: > 0 } hint)
        {
            properties.SetParameter(WebexOAuthHandler.LoginHintParameter, hint);
        }

        return context.HttpContext.ChallengeAsync(AuthExtensions.WebexScheme, properties);
    }

    public Task OnAccessDeniedAsync(AccessDeniedContext context)
    {
        context.HandleResponse();
        metrics.SignIn("access_denied");
        Log.SignInFailed(logger, StatusCodes.Status403Forbidden, "access_denied");
        return AuthPages.Page(
                StatusCodes.Status403Forbidden,
                "Sign-in cancelled",
                "Webex access was declined, so the gateway cannot call Webex for you. Sign in again and accept to continue.")
            .ExecuteAsync(context.HttpContext);
    }

    public Task OnRemoteFailureAsync(RemoteFailureContext context)
    {
        context.HandleResponse();
        var (status, title, message) = context.Failure switch
        {
            CallbackException e => (e.StatusCode, "Sign-in failed", e.Message),
            TokenEndpointException { Failure: TokenFailure.InvalidGrant } =>
                (400, "Sign-in failed", "Webex did not accept the sign-in code: it was already used or has expired. Please sign in again."),
            TokenEndpointException { Failure: TokenFailure.InvalidClient } =>
                (502, "Sign-in failed", "Webex rejected this gateway's client credentials. Ask the gateway's operators to check Webex:ClientId and Webex:ClientSecret."),
            TokenEndpointException =>
                (502, "Webex is not answering", "Webex could not complete the sign-in right now. Please try again in a moment."),
            { } failure when StoreUnavailableHandler.IsStoreUnavailable(failure) =>
                (503, AuthPages.StoreUnavailableTitle, AuthPages.StoreUnavailableMessage),
            { Data: var data } when data["error"] is string error =>
                (400, "Sign-in failed", $"Webex answered the sign-in with the error '{error}'."),
            _ => (400, "Sign-in failed", "The sign-in response was missing, forged or expired. Please start the sign-in again."),
        };
        metrics.SignIn(context.Failure switch
        {
            TokenEndpointException { Failure: TokenFailure.InvalidGrant or TokenFailure.InvalidClient } => "exchange_failed",
            _ when status >= 500 => "webex_unavailable",
            _ => "invalid_state",
        });
        Log.SignInFailed(logger, status, context.Failure?.Message ?? "unknown");
        if (status < 500)
        {
            // The client's fault (a forged, expired or replayed state, a code Webex refused), and perhaps a token call spent.
            limits.CallbackFailed(context.HttpContext);
        }

        if (status == 503)
        {
            context.Response.Headers.RetryAfter = "5";
        }

        return AuthPages.Page(status, title, message).ExecuteAsync(context.HttpContext);
    }

    /// <summary>The scopes the person's grant holds (and the gateway may still ask for) that a sign-in was not granted.</summary>
    private List<string> MissingScopes(Grant existing, string granted)
    {
        var allowed = webex.Value.AllowedScopeSet;
        return [.. Split(existing.Scopes).Where(allowed.Contains).Except(Split(granted), StringComparer.Ordinal)];
    }

    private static string[] Split(string scopes) => scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private sealed record AskAgain(List<string> Scopes, string? LoginHint);

    private async Task<Person> GetMeAsync(string accessToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{webex.Value.ApiUrl}/v1/people/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        WebexHttp.ApplyTraceContextPolicy(request, telemetry.Value);
        try
        {
            using var response = await httpClients.CreateClient(WebexHttp.PeopleClient).SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new CallbackException(502, $"Webex answered {(int)response.StatusCode} when asked who signed in. Please try again.");
            }

            var person = await response.Content.ReadFromJsonAsync(PersonJsonContext.Default.Person, cancellationToken);
            return person is { Id.Length: > 0 } ? person : throw new CallbackException(502, "Webex did not say who signed in.");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new CallbackException(502, "Webex could not be asked who signed in. Please try again.", e);
        }
    }
}

internal sealed record Person(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("displayName")] string? DisplayName,
    [property: JsonPropertyName("emails")] string[]? Emails);

[JsonSerializable(typeof(Person))]
internal sealed partial class PersonJsonContext : JsonSerializerContext;
