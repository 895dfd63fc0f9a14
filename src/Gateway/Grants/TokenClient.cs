using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;

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

    /// <summary>The token endpoint is down, slow, or answered 5xx or nonsense: try again later.</summary>
    Unavailable,
}

public sealed class TokenEndpointException(TokenFailure failure, string message, string? trackingId = null, Exception? inner = null)
    : Exception(message, inner)
{
    public TokenFailure Failure { get; } = failure;

    public string? TrackingId { get; } = trackingId;
}

/// <summary>The Webex token endpoint: code exchange and refresh, form-urlencoded.</summary>
public sealed class TokenClient(HttpClient http, IOptions<WebexOptions> options)
{
    private readonly WebexOptions _webex = options.Value;

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

    private async Task<TokenResponse> PostAsync(Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_webex.TokenRequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, _webex.TokenUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new TokenEndpointException(TokenFailure.Unavailable, $"The Webex token endpoint could not be reached ({e.GetType().Name}).", inner: e);
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
