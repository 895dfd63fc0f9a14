using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Grants;
using WebexGateway.Storage;

namespace WebexGateway.Auth;

/// <summary>
/// ASP.NET Core's OAuth handler (state, correlation cookie, PKCE) with a few Webex-specific turns:
/// a configured redirect URI wins over one built from the request's Host, a state is accepted once only and for ten
/// minutes by the gateway's clock, and the code goes to Webex through <see cref="TokenClient"/>, so its failures are
/// told apart. Before any of it, a client address over its failed-callback limit (<see cref="SignInLimits"/>) is refused.
/// </summary>
public sealed class WebexOAuthHandler(
    IOptionsMonitor<OAuthOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<WebexOptions> webex,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    SignInLimits limits)
    : OAuthHandler<OAuthOptions>(options, logger, encoder)
{
    /// <summary>A state lives as long as the correlation cookie; the used-state mark only has to outlive it.</summary>
    public static readonly TimeSpan StateLifetime = TimeSpan.FromMinutes(10);

    /// <summary>In the state of a sign-in that already went back to Webex for all of the person's scopes.</summary>
    public const string AskedForAllScopesKey = ".webex.asked-for-all-scopes";

    /// <summary>A challenge parameter (never in the state): the email Webex is to sign in, as <c>login_hint</c>.</summary>
    public const string LoginHintParameter = "login_hint";

    /// <summary>The end of the state's lifetime, carried inside the protected state itself.</summary>
    private const string StateExpiresKey = ".webex.state.expires";

    public override async Task<bool> HandleRequestAsync()
    {
        // An address that failed too many callbacks lately gets no further: its code is not exchanged, nor its state spent.
        if (await ShouldHandleRequestAsync() && !limits.MayCallBack(Context, out var refusal))
        {
            await limits.RefuseAsync(Context, refusal);
            return true;
        }

        return await base.HandleRequestAsync();
    }

    protected override string BuildChallengeUrl(AuthenticationProperties properties, string redirectUri)
    {
        // The correlation cookie's expiry is enforced by the browser only; the state carries its own, checked on return.
        properties.Items[StateExpiresKey] = TimeProvider.GetUtcNow().Add(StateLifetime).ToString("O", CultureInfo.InvariantCulture);
        var url = base.BuildChallengeUrl(properties, webex.Value.RedirectUri ?? redirectUri);
        return properties.GetParameter<string>(LoginHintParameter) is { Length: > 0 } hint
            ? QueryHelpers.AddQueryString(url, LoginHintParameter, hint)
            : url;
    }

    protected override async Task<OAuthTokenResponse> ExchangeCodeAsync(OAuthCodeExchangeContext context)
    {
        // Taken out, so the session's ticket does not carry it.
        context.Properties.Items.Remove(StateExpiresKey, out var expires);
        if (!DateTimeOffset.TryParseExact(expires, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out var expiresAt)
            || TimeProvider.GetUtcNow() >= expiresAt)
        {
            return OAuthTokenResponse.Failed(new CallbackException(400, "This sign-in link has expired. Please start the sign-in again."));
        }

        var state = Request.Query["state"].ToString();
        var stateHash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(state)));
        if (!await redis.GetDatabase().StringSetAsync(keys.UsedState(stateHash), 1, StateLifetime, When.NotExists))
        {
            return OAuthTokenResponse.Failed(new CallbackException(400, "This sign-in link was already used. Please start the sign-in again."));
        }

        context.Properties.Items.TryGetValue(OAuthConstants.CodeVerifierKey, out var codeVerifier);
        context.Properties.Items.Remove(OAuthConstants.CodeVerifierKey);
        try
        {
            // Resolved here, not injected: the authentication middleware makes this handler for every request, to ask
            // whether it is the callback, and a typed client costs a client from the factory.
            var tokens = Context.RequestServices.GetRequiredService<TokenClient>();
            var response = await tokens.ExchangeCodeAsync(context.Code, webex.Value.RedirectUri ?? context.RedirectUri, codeVerifier, Context.RequestAborted);
            return OAuthTokenResponse.Success(JsonSerializer.SerializeToDocument(response, TokenJsonContext.Default.TokenResponse));
        }
        catch (TokenEndpointException e)
        {
            return OAuthTokenResponse.Failed(e);
        }
    }
}

/// <summary>A sign-in failure with the status the callback page is answered with.</summary>
public sealed class CallbackException(int statusCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int StatusCode { get; } = statusCode;
}
