using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

/// <summary><c>POST /v1/access_token</c>: the authorization_code and refresh_token grants.</summary>
internal static class TokenEndpoint
{
    public static async Task HandleAsync(RequestContext r)
    {
        var context = r.Http;
        var state = r.State;
        state.CountTokenCall();

        // Read before the injected delay and fault so that calls are counted by grant type on arrival, whatever happens next.
        var form = await FormReader.TryReadAsync(context.Request);
        // Per person too, when the code or refresh token names one (whatever its state).
        switch (form is null ? null : FormReader.Single(form, "grant_type"))
        {
            case "authorization_code":
                state.CountCodeExchange(FormReader.Single(form!, "code") is { } presentedCode ? state.OAuth.CodeOwner(presentedCode) : null);
                break;
            case "refresh_token":
                state.CountRefreshCall(FormReader.Single(form!, "refresh_token") is { } presentedToken ? state.OAuth.RefreshTokenOwner(presentedToken) : null);
                break;
        }

        if (!await DelayAsync(r))
        {
            context.Abort();
            return;
        }

        switch (state.TokenFault)
        {
            case TokenEndpointFault.ServerError:
                await WebexErrors.WriteOAuthAsync(context, StatusCodes.Status500InternalServerError, "server_error", "An internal server error occurred. Please try again later.");
                return;
            case TokenEndpointFault.Unavailable:
                await WebexErrors.WriteOAuthAsync(context, StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "The service is temporarily unavailable. Please try again later.");
                return;
            case TokenEndpointFault.DropConnection:
                context.Abort();
                return;
        }

        if (form is null)
        {
            await InvalidRequestAsync(context, "The request body must be application/x-www-form-urlencoded.");
            return;
        }

        if (!TryAuthenticateClient(r, form, out var clientId, out var usedBasic))
        {
            if (usedBasic)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"webexapis.com\"";
            }

            await WebexErrors.WriteOAuthAsync(context, StatusCodes.Status401Unauthorized, "invalid_client", "Client authentication failed: unknown client_id or wrong client_secret.");
            return;
        }

        GrantResult result;
        switch (FormReader.Single(form, "grant_type"))
        {
            case null:
                await InvalidRequestAsync(context, "The grant_type parameter is required.");
                return;
            case "authorization_code":
                if (FormReader.Single(form, "code") is not { } code)
                {
                    await InvalidRequestAsync(context, "The code parameter is required.");
                    return;
                }

                result = state.OAuth.RedeemCode(clientId, code, FormReader.Single(form, "redirect_uri"), FormReader.Single(form, "code_verifier"));
                break;
            case "refresh_token":
                if (FormReader.Single(form, "refresh_token") is not { } refreshToken)
                {
                    await InvalidRequestAsync(context, "The refresh_token parameter is required.");
                    return;
                }

                result = state.OAuth.Refresh(clientId, refreshToken, FormReader.Single(form, "scope"), state.RotateRefreshTokens);
                break;
            case var other:
                await WebexErrors.WriteOAuthAsync(context, StatusCodes.Status400BadRequest, "unsupported_grant_type", $"The grant_type \"{other}\" is not supported.");
                return;
        }

        if (result.Tokens is not { } tokens)
        {
            await WebexErrors.WriteOAuthAsync(context, StatusCodes.Status400BadRequest, result.Error, result.Description);
            return;
        }

        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        await WebexJson.WriteAsync(context, StatusCodes.Status200OK, new TokenResponse(
            tokens.AccessToken,
            (long)tokens.AccessTokenExpiresIn.TotalSeconds,
            tokens.RefreshToken,
            (long)tokens.RefreshTokenExpiresIn.TotalSeconds,
            "Bearer",
            tokens.Scope));
    }

    /// <summary>Waits <see cref="EmulatorState.TokenDelay"/>; false when the client left or the emulator is stopping.</summary>
    private static async Task<bool> DelayAsync(RequestContext r)
    {
        var delay = r.State.TokenDelay;
        if (delay <= TimeSpan.Zero)
        {
            return true;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(r.Http.RequestAborted, r.Stopping);
        try
        {
            await Task.Delay(delay, cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static Task InvalidRequestAsync(HttpContext context, string description) =>
        WebexErrors.WriteOAuthAsync(context, StatusCodes.Status400BadRequest, "invalid_request", description);

    /// <summary>client_id and client_secret from HTTP Basic (RFC 6749 §2.3.1) or, failing that, from the form.</summary>
    private static bool TryAuthenticateClient(RequestContext r, IFormCollection form, out string clientId, out bool usedBasic)
    {
        clientId = "";
        string? id;
        string? secret;
        var authorization = r.Http.Request.Headers.Authorization.ToString();
        usedBasic = authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
        if (usedBasic)
        {
            if (!TryParseBasic(authorization["Basic ".Length..].Trim(), out id, out secret))
            {
                return false;
            }

            if (FormReader.Single(form, "client_id") is { } formId && formId != id)
            {
                return false;
            }
        }
        else
        {
            id = FormReader.Single(form, "client_id");
            secret = FormReader.Single(form, "client_secret");
        }

        if (id is null || secret is null || !r.State.Settings.Clients.TryGetValue(id, out var expected)
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(expected)))
        {
            return false;
        }

        clientId = id;
        return true;
    }

    private static bool TryParseBasic(string encoded, out string? id, out string? secret)
    {
        id = secret = null;
        var bytes = new byte[encoded.Length];
        if (!Convert.TryFromBase64String(encoded, bytes, out var written))
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(bytes, 0, written);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        // Both halves are form-urlencoded before being joined (RFC 6749 §2.3.1).
        id = Uri.UnescapeDataString(text[..colon].Replace('+', ' '));
        secret = Uri.UnescapeDataString(text[(colon + 1)..].Replace('+', ' '));
        return true;
    }

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string AccessToken,
        [property: JsonPropertyName("expires_in")] long ExpiresIn,
        [property: JsonPropertyName("refresh_token")] string RefreshToken,
        [property: JsonPropertyName("refresh_token_expires_in")] long RefreshTokenExpiresIn,
        [property: JsonPropertyName("token_type")] string TokenType,
        [property: JsonPropertyName("scope")] string Scope);
}
