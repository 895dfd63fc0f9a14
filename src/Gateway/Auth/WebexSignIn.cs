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
    GatewayMetrics metrics, IOptions<TelemetryOptions> telemetry, ILogger<WebexSignIn> logger)
{
    public async Task OnCreatingTicketAsync(OAuthCreatingTicketContext context)
    {
        var token = context.TokenResponse.Response!.Deserialize(TokenJsonContext.Default.TokenResponse)!;
        var person = await GetMeAsync(token.AccessToken, context.HttpContext.RequestAborted);
        var now = time.GetUtcNow();
        var grant = new Grant(
            person.Id,
            person.DisplayName ?? "",
            person.Emails ?? [],
            token.Scope ?? string.Join(' ', webex.Value.ScopeList),
            token.AccessToken,
            now.AddSeconds(token.ExpiresIn),
            token.RefreshToken ?? throw new CallbackException(502, "Webex returned no refresh token."),
            now.AddSeconds(token.RefreshTokenExpiresIn ?? (long)TimeSpan.FromDays(90).TotalSeconds));
        await grants.SaveAsync(grant);

        context.Identity!.AddClaim(new Claim(WebexClaims.PersonId, person.Id));
        context.Identity.AddClaim(new Claim(ClaimTypes.Name, grant.DisplayName));
        metrics.SignIn("success");
        GatewayTelemetry.TagUser(context.HttpContext, person.Id);
        Log.SignedIn(logger, grant.AccessTokenExpiresAt);
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
        if (status == 503)
        {
            context.Response.Headers.RetryAfter = "5";
        }

        return AuthPages.Page(status, title, message).ExecuteAsync(context.HttpContext);
    }

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
