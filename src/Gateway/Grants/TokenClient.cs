using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;
using WebexGateway.Configuration;
using WebexGateway.Outbound;
using WebexGateway.Telemetry;

namespace WebexGateway.Grants;

/// <summary>What the Webex token endpoint answers on success.</summary>
public sealed record TokenResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("expires_in")] long ExpiresIn,
    [property: JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: JsonPropertyName("refresh_token_expires_in")] long? RefreshTokenExpiresIn,
    [property: JsonPropertyName("scope")] string? Scope);

public enum TokenFailure
{
    /// <summary>The code or refresh token is unknown, used, revoked or expired: the user must consent again.</summary>
    InvalidGrant,

    /// <summary>Webex does not accept the gateway's client id and secret.</summary>
    InvalidClient,

    /// <summary>The token endpoint is down, refuses connections, or answered 5xx or nonsense: try again later.</summary>
    Unavailable,

    /// <summary>The token endpoint did not answer within <c>Webex:TokenRequestTimeout</c>.</summary>
    TimedOut,
}

public sealed class TokenEndpointException(TokenFailure failure, string message, string? trackingId = null, Exception? inner = null)
    : Exception(message, inner)
{
    public TokenFailure Failure { get; } = failure;

    public string? TrackingId { get; } = trackingId;
}

/// <summary>The Webex token endpoint: code exchange and refresh, form-urlencoded.</summary>
public sealed class TokenClient(HttpClient http, IOptions<WebexOptions> options, IOptions<TelemetryOptions> telemetry)
{
    private readonly WebexOptions _webex = options.Value;
    private readonly TelemetryOptions _telemetry = telemetry.Value;

    public Task<TokenResponse> ExchangeCodeAsync(string code, string redirectUri, string? codeVerifier, CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = _webex.ClientId ?? "",
            ["client_secret"] = _webex.ClientSecret ?? "",
            ["code"] = code,
            ["redirect_uri"] = redirectUri,
        };
        if (codeVerifier is not null)
        {
            form["code_verifier"] = codeVerifier;
        }

        return PostAsync(form, cancellationToken);
    }

    public Task<TokenResponse> RefreshAsync(string refreshToken, CancellationToken cancellationToken) => PostAsync(
        new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["client_id"] = _webex.ClientId ?? "",
            ["client_secret"] = _webex.ClientSecret ?? "",
            ["refresh_token"] = refreshToken,
        },
        cancellationToken);

    /// <summary>Marks a request that must not be sent twice: a code is single-use, so its exchange is never retried.</summary>
    public static readonly HttpRequestOptionsKey<bool> NoRetry = new("webex-gateway.no-retry");

    private async Task<TokenResponse> PostAsync(Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        // The resilience pipeline bounds the call itself; this also bounds reading the answer.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_webex.TokenRequestTimeout + TimeSpan.FromSeconds(1));
        using var request = new HttpRequestMessage(HttpMethod.Post, _webex.TokenUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Options.Set(NoRetry, form["grant_type"] == "authorization_code");
        WebexHttp.ApplyTraceContextPolicy(request, _telemetry);

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, timeout.Token);
        }
        catch (Exception e) when (e is TimeoutRejectedException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new TokenEndpointException(TokenFailure.TimedOut, "The Webex token endpoint did not answer in time.", inner: e);
        }
        catch (BrokenCircuitException e)
        {
            throw new TokenEndpointException(TokenFailure.Unavailable, "The Webex token endpoint failed repeatedly; calls to it are paused for a moment.", inner: e);
        }
        catch (HttpRequestException e)
        {
            throw new TokenEndpointException(TokenFailure.Unavailable, $"The Webex token endpoint could not be reached ({e.HttpRequestError}).", inner: e);
        }

        using (response)
        {
            var trackingId = response.Headers.TryGetValues("TrackingID", out var values) ? values.FirstOrDefault() : null;
            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(timeout.Token);
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw new TokenEndpointException(TokenFailure.Unavailable, "The Webex token endpoint broke off its answer.", trackingId, e);
            }

            if (response.IsSuccessStatusCode)
            {
                try
                {
                    var token = JsonSerializer.Deserialize(body, TokenJsonContext.Default.TokenResponse);
                    if (token is { AccessToken.Length: > 0, ExpiresIn: > 0 })
                    {
                        return token;
                    }
                }
                catch (JsonException)
                {
                }

                throw new TokenEndpointException(TokenFailure.Unavailable, "The Webex token endpoint answered 2xx without a usable token.", trackingId);
            }

            var error = ReadError(body);
            if (response.StatusCode == HttpStatusCode.BadRequest && error == "invalid_grant")
            {
                throw new TokenEndpointException(TokenFailure.InvalidGrant, "Webex no longer accepts this grant (invalid_grant).", trackingId);
            }

            if (error == "invalid_client" || response.StatusCode == HttpStatusCode.Unauthorized)
            {
                throw new TokenEndpointException(TokenFailure.InvalidClient, "Webex rejected the gateway's client id or secret (invalid_client).", trackingId);
            }

            throw new TokenEndpointException(
                TokenFailure.Unavailable,
                $"The Webex token endpoint answered {(int)response.StatusCode}{(error is null ? "" : $" ({error})")}.",
                trackingId);
        }
    }

    private static string? ReadError(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String
                ? error.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSerializable(typeof(TokenResponse))]
internal sealed partial class TokenJsonContext : JsonSerializerContext;
