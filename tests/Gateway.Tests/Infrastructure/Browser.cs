using System.Net;
using System.Net.Http.Headers;
using System.Text;
using WebexGateway.Auth;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>What a browser does that matters here: keep cookies per host and follow redirects one hop at a time.</summary>
public sealed class Browser : IDisposable
{
    private readonly HttpClient _http;

    public Browser()
    {
        Cookies = new CookieContainer();
        // No trace context of the test's own: the gateway shares this process's listeners, and a test sets traceparent itself.
        _http = new HttpClient(new SocketsHttpHandler
        {
            CookieContainer = Cookies,
            AllowAutoRedirect = false,
            UseProxy = false,
            ActivityHeadersPropagator = System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator(),
        })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public CookieContainer Cookies { get; }

    public Task<HttpResponseMessage> GetAsync(Uri url, bool csrf = false) => SendAsync(HttpMethod.Get, url, csrf: csrf);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, HttpContent? content = null, bool csrf = true,
        Action<HttpRequestHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        request.Options.Set(WebexGateway.Outbound.WebexHttp.NoTraceContext, true);
        if (csrf)
        {
            request.Headers.Add("X-CSRF", "1");
        }

        headers?.Invoke(request.Headers);
        return await _http.SendAsync(request);
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Signs in through the gateway and the emulator's (auto-approving) consent; returns where the gateway sent the browser last.</summary>
    public async Task<string> SignInAsync(Uri gateway, string returnUrl = "/", string? loginHint = null)
    {
        var callback = await GetAsync(await ConsentAsync(gateway, returnUrl, loginHint));
        Assert.True(callback.StatusCode == HttpStatusCode.Found, $"callback answered {(int)callback.StatusCode}: {await callback.Content.ReadAsStringAsync()}");
        return callback.Headers.Location!.OriginalString;
    }

    /// <summary>Starts a sign-in and consents at the emulator; returns the callback URL Webex sends the browser back to.</summary>
    /// <remarks>The emulator signs in the person whose email is the login hint, or its default person.</remarks>
    public async Task<Uri> ConsentAsync(Uri gateway, string returnUrl = "/", string? loginHint = null)
    {
        var login = await GetAsync(new Uri(gateway, $"/auth/login?returnUrl={Uri.EscapeDataString(returnUrl)}"));
        Assert.Equal(HttpStatusCode.Found, login.StatusCode);
        var authorize = loginHint is null ? login.Headers.Location! : new Uri($"{login.Headers.Location}&login_hint={Uri.EscapeDataString(loginHint)}");
        var consent = await GetAsync(authorize);
        Assert.Equal(HttpStatusCode.Found, consent.StatusCode);
        return consent.Headers.Location!;
    }

    public string? SessionCookie(Uri gateway) => Cookies.GetCookies(gateway)[AuthExtensions.SessionCookieName]?.Value;

    public void Dispose() => _http.Dispose();
}
