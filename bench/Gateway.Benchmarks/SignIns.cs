using System.Diagnostics;
using System.Net;
using Webex.Emulator;

namespace WebexGateway.Benchmarks;

/// <summary>
/// Signs many people in through a gateway whose Webex is the emulator, in parallel, and returns each one's session cookie.
/// Each sign-in is the browser's three redirects: the gateway's <c>/auth/login</c> to the emulator's authorize URL (with
/// <c>&amp;login_hint=&lt;email&gt;</c> appended, so the emulator signs in that person), the emulator's consent to the
/// gateway's callback, and the callback, which sets the session cookie. Cookies are carried by hand, one jar per person.
/// </summary>
internal static class SignIns
{
    /// <summary>One <c>Cookie</c> header value per person, in order: the cookies the callback set.</summary>
    public static async Task<string[]> RunAsync(Uri gateway, IReadOnlyList<EmulatorPerson> people, int parallelism, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            UseProxy = false,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        })
        { Timeout = TimeSpan.FromSeconds(60) };

        var cookies = new string[people.Count];
        var done = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, people.Count), new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                cookies[i] = await SignInAsync(http, gateway, people[i], token);
                var count = Interlocked.Increment(ref done);
                if (count % 1000 == 0 && count < people.Count)
                {
                    Console.Error.WriteLine($"[bench]   {count:N0} of {people.Count:N0} signed in ({count / clock.Elapsed.TotalSeconds:F0}/s)");
                }
            });
        return cookies;
    }

    private static async Task<string> SignInAsync(HttpClient http, Uri gateway, EmulatorPerson person, CancellationToken cancellationToken)
    {
        var jar = new Dictionary<string, string>(StringComparer.Ordinal);

        var login = new Uri(gateway, "/auth/login?returnUrl=/");
        using var loginResponse = await http.GetAsync(login, cancellationToken);
        var authorize = Redirect(loginResponse, login, person, "/auth/login");
        Keep(jar, loginResponse);

        var hinted = new Uri(authorize + "&login_hint=" + Uri.EscapeDataString(person.Email));
        using var consent = await http.GetAsync(hinted, cancellationToken);
        var callback = Redirect(consent, hinted, person, "the emulator's /v1/authorize");

        using var callbackRequest = new HttpRequestMessage(HttpMethod.Get, callback);
        callbackRequest.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", jar.Select(c => $"{c.Key}={c.Value}")));
        using var signedIn = await http.SendAsync(callbackRequest, cancellationToken);
        Redirect(signedIn, callback, person, "/auth/callback");

        // What a browser would send from now on: what the callback set, minus the sign-in's own (correlation) cookies.
        var session = new Dictionary<string, string>(StringComparer.Ordinal);
        Keep(session, signedIn);
        var kept = session.Where(c => !c.Key.StartsWith(".AspNetCore.", StringComparison.Ordinal)).Select(c => $"{c.Key}={c.Value}").ToList();
        return kept.Count > 0 && kept.Any(c => c.Contains("session", StringComparison.OrdinalIgnoreCase))
            ? string.Join("; ", kept)
            : throw new InvalidOperationException($"{person.Email}: the callback set no session cookie");
    }

    private static void Keep(Dictionary<string, string> jar, HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Set-Cookie", out var values))
        {
            return;
        }

        foreach (var value in values)
        {
            var pair = value.Split(';', 2)[0];
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var (name, content) = (pair[..equals].Trim(), pair[(equals + 1)..].Trim());
            if (content.Length == 0 || value.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
            {
                jar.Remove(name); // a deletion
            }
            else
            {
                jar[name] = content;
            }
        }
    }

    private static Uri Redirect(HttpResponseMessage response, Uri from, EmulatorPerson person, string step) =>
        response.StatusCode is HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect && response.Headers.Location is { } location
            ? new Uri(from, location)
            : throw new InvalidOperationException($"{person.Email}: {step} answered {(int)response.StatusCode}, not a redirect");
}
