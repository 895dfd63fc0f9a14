using System.Net;
using Webex.Emulator;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Telemetry;

[Collection(GatewayCollection.Name)]
public sealed class SecretsTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task No_token_or_code_appears_in_any_log_line_through_sign_in_refresh_failure_and_sign_out()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var api = new Uri(gateway.Address, "/webex/v1/people/me");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(api, csrf: true)).StatusCode);
        world.Webex.ExpireAccessTokens();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(api, csrf: true)).StatusCode);
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenFault = TokenEndpointFault.ServerError;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await browser.GetAsync(api, csrf: true)).StatusCode);
        world.Webex.TokenFault = TokenEndpointFault.None;
        world.Webex.RevokeRefreshTokens();
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(api, csrf: true)).StatusCode);
        await browser.SignInAsync(gateway.Address);
        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/auth/logout"))).StatusCode);

        var logs = gateway.Logs.ToArray();
        Assert.Contains(logs, line => line.Contains("Grant refreshed", StringComparison.Ordinal));
        Assert.Contains(logs, line => line.Contains("invalid_grant", StringComparison.Ordinal));
        Assert.True(world.Webex.IssuedSecrets.Count >= 6);
        foreach (var secret in world.Webex.IssuedSecrets)
        {
            Assert.DoesNotContain(logs, line => line.Contains(secret, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(logs, line => line.Contains(world.Person.Email, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The levels an operator may turn up while chasing a problem: the OAuth handler's own category at Debug (its challenge
    /// line holds the authorize URL and the correlation cookie), and ASP.NET Core's at Information and below (the request
    /// line of <c>/auth/callback</c> holds the code and the state). None of it may reach a log line, message or value.
    /// </summary>
    [Theory]
    [InlineData("Default=Debug")]
    [InlineData("Default=Debug;Microsoft.AspNetCore=Trace")]
    [InlineData("Microsoft.AspNetCore=Information")]
    [InlineData("Default=Trace;Microsoft=Trace;Microsoft.AspNetCore=Trace;WebexGateway=Trace;System=Trace")]
    public async Task No_code_state_correlation_or_session_cookie_reaches_a_log_line_at_any_level(string levels)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var settings = levels.Split(';').Select(l => l.Split('=')).ToDictionary(l => $"Logging:LogLevel:{l[0]}", l => (string?)l[1]);
        var gateway = world.AddGateway(settings);
        using var browser = world.NewBrowser();
        var secrets = new List<string>();

        // A sign-in.
        var callback = await browser.ConsentAsync(gateway.Address, "/app");
        secrets.AddRange(CodeAndState(callback));
        var correlation = browser.Cookies.GetCookies(new Uri(gateway.Address, "/auth/callback")).Single();
        secrets.Add(correlation.Name[".AspNetCore.Correlation.".Length..]);
        Assert.Equal(HttpStatusCode.Found, (await browser.GetAsync(callback)).StatusCode);
        secrets.Add(browser.SessionCookie(gateway.Address)!);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);

        // A callback carrying a planted correlation cookie value: ASP.NET Core warns about it, naming the cookie and the value.
        using var stranger = world.NewBrowser();
        var strangerCallback = await stranger.ConsentAsync(gateway.Address);
        secrets.AddRange(CodeAndState(strangerCallback));
        var strangerCorrelation = stranger.Cookies.GetCookies(new Uri(gateway.Address, "/auth/callback")).Single();
        secrets.Add(strangerCorrelation.Name[".AspNetCore.Correlation.".Length..]);
        var planted = $"planted-{Guid.NewGuid():N}";
        secrets.Add(planted);
        var refused = await RawHttp.SendAsync(gateway.Address,
            RawHttp.Get(gateway.Address, strangerCallback.PathAndQuery, $"{strangerCorrelation.Name}={planted}", false));
        Assert.Equal(400, refused.Status);

        // A code Webex never issued, with a good state.
        using var guesser = world.NewBrowser();
        var guessed = await guesser.ConsentAsync(gateway.Address);
        var guessedState = CodeAndState(guessed)[1];
        var garbageCode = $"garbage-{Guid.NewGuid():N}";
        secrets.AddRange([guessedState, garbageCode]);
        Assert.Equal(HttpStatusCode.BadRequest, (await guesser.GetAsync(new Uri(gateway.Address,
            $"/auth/callback?code={garbageCode}&state={Uri.EscapeDataString(guessedState)}"))).StatusCode);

        var logs = gateway.Logs.ToArray();
        // The lines that used to carry them were written (at the levels that enable them), so their absence below means something.
        if (settings.ContainsKey("Logging:LogLevel:Microsoft.AspNetCore"))
        {
            Assert.Contains(logs, line => line.Contains("Request starting", StringComparison.Ordinal) && line.Contains("/auth/callback?", StringComparison.Ordinal));
        }

        if (settings.GetValueOrDefault("Logging:LogLevel:Default") is "Debug" or "Trace")
        {
            Assert.Contains(logs, line => line.Contains("HandleChallenge", StringComparison.Ordinal));
        }

        Assert.Contains(logs, line => line.Contains("did not match the expected value", StringComparison.Ordinal));

        Assert.True(secrets.All(s => s.Length >= 16), "every secret searched for is long enough to mean something");
        foreach (var secret in secrets.Concat(world.Webex.IssuedSecrets))
        {
            var line = logs.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
            Assert.True(line is null, $"a log line holds a secret ({secret[..6]}...): {line}");
        }
    }

    private static string[] CodeAndState(Uri callback)
    {
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(callback.Query);
        return [query["code"].ToString(), query["state"].ToString()];
    }

    [Fact]
    public async Task No_token_or_code_appears_in_any_span_of_a_flow_with_refresh_replay_and_failure()
    {
        var spans = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => spans.Enqueue(string.Join(" | ",
                new[] { activity.Source.Name, activity.DisplayName, activity.StatusDescription ?? "" }
                    .Concat(activity.TagObjects.Select(t => $"{t.Key}={t.Value}"))
                    .Concat(activity.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={t.Value}"))))),
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var api = new Uri(gateway.Address, "/webex/v1/people/me");
        world.Webex.ExpireAccessTokens();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(api, csrf: true)).StatusCode);
        world.Webex.ExpireAccessTokens();
        world.Webex.TokenFault = TokenEndpointFault.ServerError;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await browser.GetAsync(api, csrf: true)).StatusCode);

        var recorded = spans.ToArray();
        Assert.Contains(recorded, span => span.StartsWith("WebexGateway | grant.refresh", StringComparison.Ordinal));
        Assert.Contains(recorded, span => span.StartsWith("WebexGateway | webex.replay", StringComparison.Ordinal));
        foreach (var secret in world.Webex.IssuedSecrets)
        {
            Assert.DoesNotContain(recorded, span => span.Contains(secret, StringComparison.Ordinal));
        }
    }
}
