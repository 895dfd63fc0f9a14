using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;

namespace Webex.Emulator.Tests;

/// <summary>A running emulator with one registered client and an HttpClient that does not follow redirects.</summary>
internal sealed partial class Harness : IAsyncDisposable
{
    public const string ClientId = "C3f0a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
    public const string ClientSecret = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d";
    public const string RedirectUri = "http://localhost:5999/oauth/callback";
    public const string Scope = "spark:people_read spark:rooms_read spark:messages_write";

    private Harness(WebexEmulator emulator, FakeTimeProvider? time)
    {
        Emulator = emulator;
        Time = time;
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) };
    }

    public WebexEmulator Emulator { get; }

    public EmulatorState State => Emulator.State;

    public HttpClient Http { get; }

    /// <summary>Set when started with <c>fakeTime: true</c>.</summary>
    public FakeTimeProvider? Time { get; }

    public static async Task<Harness> StartAsync(Action<WebexEmulatorOptions>? configure = null, bool fakeTime = false)
    {
        var options = new WebexEmulatorOptions();
        options.Clients.Add(new EmulatorClient(ClientId, ClientSecret));
        FakeTimeProvider? time = null;
        if (fakeTime)
        {
            time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 14, 9, 26, 53, TimeSpan.Zero));
            options.TimeProvider = time;
        }

        configure?.Invoke(options);
        return new Harness(await WebexEmulator.StartAsync(options), time);
    }

    public Uri Url(string pathAndQuery) => new(Emulator.BaseUrl, pathAndQuery);

    public static (string Verifier, string Challenge) NewPkce()
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public Task<HttpResponseMessage> AuthorizeAsync(
        string? challenge, string? state = "xyz", string clientId = ClientId, string scope = Scope, string redirectUri = RedirectUri, string? loginHint = null)
    {
        var query = new List<string>
        {
            "client_id=" + Uri.EscapeDataString(clientId),
            "response_type=code",
            "redirect_uri=" + Uri.EscapeDataString(redirectUri),
            "scope=" + Uri.EscapeDataString(scope),
        };
        if (state is not null)
        {
            query.Add("state=" + Uri.EscapeDataString(state));
        }

        if (challenge is not null)
        {
            query.Add("code_challenge=" + challenge);
            query.Add("code_challenge_method=S256");
        }

        if (loginHint is not null)
        {
            query.Add("login_hint=" + Uri.EscapeDataString(loginHint));
        }

        return Http.GetAsync(Url("/v1/authorize?" + string.Join('&', query)));
    }

    /// <summary>Authorizes (auto-approve) and returns the code from the redirect.</summary>
    public async Task<string> GetCodeAsync(string? challenge, string clientId = ClientId, string redirectUri = RedirectUri, string? loginHint = null)
    {
        using var response = await AuthorizeAsync(challenge, clientId: clientId, redirectUri: redirectUri, loginHint: loginHint);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        return RedirectParameters(response)["code"];
    }

    public static Dictionary<string, string> RedirectParameters(HttpResponseMessage response)
    {
        var location = response.Headers.Location ?? throw new InvalidOperationException("No Location header.");
        return ParseQuery(location.OriginalString[(location.OriginalString.IndexOf('?', StringComparison.Ordinal) + 1)..]);
    }

    public static Dictionary<string, string> ParseQuery(string query) =>
        query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0]), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : "");

    public Task<HttpResponseMessage> TokenAsync(params (string Name, string Value)[] fields) =>
        Http.PostAsync(Url("/v1/access_token"), new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value))));

    public Task<HttpResponseMessage> ExchangeAsync(string code, string? verifier, string redirectUri = RedirectUri)
    {
        var fields = new List<(string, string)>
        {
            ("grant_type", "authorization_code"), ("client_id", ClientId), ("client_secret", ClientSecret), ("code", code), ("redirect_uri", redirectUri),
        };
        if (verifier is not null)
        {
            fields.Add(("code_verifier", verifier));
        }

        return TokenAsync([.. fields]);
    }

    public Task<HttpResponseMessage> RefreshAsync(string refreshToken) =>
        TokenAsync(("grant_type", "refresh_token"), ("client_id", ClientId), ("client_secret", ClientSecret), ("refresh_token", refreshToken));

    /// <summary>The whole code flow with PKCE (as the login hint's person, when given); returns the token response.</summary>
    public async Task<JsonElement> SignInAsync(string? loginHint = null)
    {
        var (verifier, challenge) = NewPkce();
        var code = await GetCodeAsync(challenge, loginHint: loginHint);
        using var response = await ExchangeAsync(code, verifier);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await JsonAsync(response);
    }

    public async Task<string> SignInForAccessTokenAsync(string? loginHint = null) => (await SignInAsync(loginHint)).GetProperty("access_token").GetString()!;

    public Task<HttpResponseMessage> ApiAsync(HttpMethod method, string pathAndQuery, string? accessToken, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, Url(pathAndQuery)) { Content = content };
        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return Http.SendAsync(request);
    }

    /// <summary>The URL of a list response's next page (its <c>Link</c> header, <c>rel="next"</c>); null on the last page.</summary>
    public static string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        var match = LinkPattern().Match(string.Join(",", values));
        Assert.True(match.Success, string.Join(",", values));
        return match.Groups["url"].Value;
    }

    [GeneratedRegex("""^<(?<url>[^>]+)>; rel="next"$""")]
    private static partial Regex LinkPattern();

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>Asserts Webex's error shape and that the body's trackingId is the TrackingID header.</summary>
    public static async Task<JsonElement> AssertWebexErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await JsonAsync(response);
        Assert.False(string.IsNullOrEmpty(json.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(json.GetProperty("errors")[0].GetProperty("description").GetString()));
        var trackingId = json.GetProperty("trackingId").GetString();
        Assert.StartsWith("ROUTER_", trackingId);
        Assert.Equal(trackingId, Assert.Single(response.Headers.GetValues("TrackingID")));
        return json;
    }

    public static async Task AssertOAuthErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var json = await AssertWebexErrorAsync(response, status);
        Assert.Equal(error, json.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("error_description").GetString()));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
    }
}
