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
