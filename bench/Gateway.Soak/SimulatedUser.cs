using System.Net;
using Webex.Emulator;

namespace WebexGateway.Soak;

/// <summary>A browser of one Webex person: its own cookie jar, shared by every gateway instance (cookies ignore the port).</summary>
internal sealed class SimulatedUser(int number, EmulatorPerson person, IReadOnlyList<string> roomIds)
{
    public int Number { get; } = number;

    public EmulatorPerson Person { get; } = person;

    public IReadOnlyList<string> RoomIds { get; } = roomIds;

    public CookieContainer Cookies { get; } = new();

    /// <summary>
    /// Signs in through <paramref name="gateway"/>: its <c>/auth/login</c> redirects to the emulator's authorize URL, to which
    /// <c>login_hint=&lt;email&gt;</c> is appended (the gateway does not forward one; its state and PKCE stay untouched), then
    /// the emulator redirects to the gateway's callback, which sets the session cookie.
    /// </summary>
    public async Task SignInAsync(Uri gateway, TimeSpan timeout)
    {
        using var http = new HttpClient(new SocketsHttpHandler { CookieContainer = Cookies, AllowAutoRedirect = false, UseProxy = false }) { Timeout = timeout };
        using var login = await http.GetAsync(new Uri(gateway, "/auth/login?returnUrl=/"));
        var authorize = Redirect(login, gateway, "/auth/login");
        var hinted = new Uri(authorize + "&login_hint=" + Uri.EscapeDataString(Person.Email));
        using var consent = await http.GetAsync(hinted);
        var callback = Redirect(consent, hinted, "the emulator's /v1/authorize");
        using var signedIn = await http.GetAsync(callback);
        var home = Redirect(signedIn, callback, "/auth/callback");
        if (home.AbsolutePath != "/" || Cookies.GetCookies(gateway)["webex-gateway.session"] is null)
        {
            throw new InvalidOperationException($"user {Number}: the callback did not sign in (went to {home}, no session cookie)");
        }
    }

    public string CookieHeader(Uri gateway) => Cookies.GetCookieHeader(gateway);

    private Uri Redirect(HttpResponseMessage response, Uri from, string step) =>
        response.StatusCode == HttpStatusCode.Found && response.Headers.Location is { } location
            ? new Uri(from, location)
            : throw new InvalidOperationException($"user {Number}: {step} answered {(int)response.StatusCode}, not a redirect");
}
