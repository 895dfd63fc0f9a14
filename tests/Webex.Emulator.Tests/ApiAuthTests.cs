using System.Net;

namespace Webex.Emulator.Tests;

public sealed class ApiAuthTests
{
    private const string InvalidTokenMessage = "The request requires a valid access token set in the Authorization request header.";

    [Fact]
    public async Task MissingOrUnknownToken_Is401WithWebexJson()
    {
        await using var h = await Harness.StartAsync();

        using var missing = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", null);
        using var unknown = await h.ApiAsync(HttpMethod.Get, "/v1/rooms", "not-a-token");

        Assert.Equal(InvalidTokenMessage, (await Harness.AssertWebexErrorAsync(missing, HttpStatusCode.Unauthorized)).GetProperty("message").GetString());
        Assert.Equal(InvalidTokenMessage, (await Harness.AssertWebexErrorAsync(unknown, HttpStatusCode.Unauthorized)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task ExpireAccessTokens_MakesEveryIssuedTokenAnswer401_NewTokensWork()
    {
        await using var h = await Harness.StartAsync();
        var tokens = await h.SignInAsync();
        var access = tokens.GetProperty("access_token").GetString()!;

        h.State.ExpireAccessTokens();
        using var expired = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);
        using var refreshed = await h.RefreshAsync(tokens.GetProperty("refresh_token").GetString()!);
        var newAccess = (await Harness.JsonAsync(refreshed)).GetProperty("access_token").GetString()!;
        using var ok = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", newAccess);

        var json = await Harness.AssertWebexErrorAsync(expired, HttpStatusCode.Unauthorized);
        Assert.Equal(InvalidTokenMessage, json.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task AccessToken_ExpiresAfterItsLifetime()
    {
        await using var h = await Harness.StartAsync(o => o.AccessTokenLifetime = TimeSpan.FromHours(1), fakeTime: true);
        var access = await h.SignInForAccessTokenAsync();

        h.Time!.Advance(TimeSpan.FromMinutes(59));
        using var valid = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);
        h.Time.Advance(TimeSpan.FromMinutes(1));
        using var expired = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);

        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        await Harness.AssertWebexErrorAsync(expired, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task RateLimit_AnswersTheNextCalls429WithRetryAfter_ThenRecovers()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        h.State.RateLimitNextApiCalls = 2;

        using var first = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);
        using var token = await h.RefreshAsync((await h.SignInAsync()).GetProperty("refresh_token").GetString()!);
        using var second = await h.ApiAsync(HttpMethod.Get, "/v1/rooms", access);
        using var third = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);

        foreach (var limited in new[] { first, second })
        {
            await Harness.AssertWebexErrorAsync(limited, (HttpStatusCode)429);
            Assert.Equal(TimeSpan.FromSeconds(2), limited.Headers.RetryAfter?.Delta);
        }

        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(0, h.State.RateLimitNextApiCalls);
    }

    [Fact]
    public async Task SuccessfulApiResponses_CarryATrackingId()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var response = await h.ApiAsync(HttpMethod.Get, "/v1/rooms?max=1", access);

        Assert.StartsWith("ROUTER_", Assert.Single(response.Headers.GetValues("TrackingID")));
    }

    [Fact]
    public async Task UnknownPathOrMethod_IsWebexJson404Or405()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var unknown = await h.ApiAsync(HttpMethod.Get, "/v1/nothing/here", access);
        using var wrongMethod = await h.ApiAsync(HttpMethod.Delete, "/v1/rooms", access);

        await Harness.AssertWebexErrorAsync(unknown, HttpStatusCode.NotFound);
        await Harness.AssertWebexErrorAsync(wrongMethod, HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task ConcurrentApiCalls_AllSucceed()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => h.ApiAsync(HttpMethod.Get, i % 2 == 0 ? "/v1/people/me" : "/v1/rooms?max=5", access)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(60, h.State.Requests.Count);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
