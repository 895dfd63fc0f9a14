using System.Net;

namespace Webex.Emulator.Tests;

public sealed class RefreshTests
{
    [Fact]
    public async Task Refresh_ReturnsANewAccessTokenAndTheSameRefreshToken_OldAccessTokenStaysValid()
    {
        await using var h = await Harness.StartAsync();
        var tokens = await h.SignInAsync();
        var oldAccess = tokens.GetProperty("access_token").GetString()!;
        var refresh = tokens.GetProperty("refresh_token").GetString()!;

        using var response = await h.RefreshAsync(refresh);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Harness.JsonAsync(response);
        var newAccess = json.GetProperty("access_token").GetString()!;
        Assert.NotEqual(oldAccess, newAccess);
        Assert.Equal(refresh, json.GetProperty("refresh_token").GetString());
        Assert.Equal((long)TimeSpan.FromDays(90).TotalSeconds, json.GetProperty("refresh_token_expires_in").GetInt64());
        Assert.Equal((long)TimeSpan.FromDays(14).TotalSeconds, json.GetProperty("expires_in").GetInt64());
        Assert.Equal(Harness.Scope, json.GetProperty("scope").GetString());
        Assert.Equal(1, h.State.RefreshCalls);
        Assert.Equal(newAccess, h.State.LastAccessToken);

        using var withOld = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", oldAccess);
        using var withNew = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", newAccess);
        Assert.Equal(HttpStatusCode.OK, withOld.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withNew.StatusCode);
    }

    [Fact]
    public async Task Refresh_RenewsTheRefreshTokenExpiry()
    {
        await using var h = await Harness.StartAsync(o => o.RefreshTokenLifetime = TimeSpan.FromDays(90), fakeTime: true);
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;

        h.Time!.Advance(TimeSpan.FromDays(80));
        using var first = await h.RefreshAsync(refresh);
        h.Time.Advance(TimeSpan.FromDays(80));
        using var second = await h.RefreshAsync(refresh);
        h.Time.Advance(TimeSpan.FromDays(91));
        using var expired = await h.RefreshAsync(refresh);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        await Harness.AssertOAuthErrorAsync(expired, HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task RotatingRefresh_ReturnsANewRefreshTokenAndInvalidatesTheOldOne()
    {
        await using var h = await Harness.StartAsync();
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;
        h.State.RotateRefreshTokens = true;

        using var response = await h.RefreshAsync(refresh);
        var rotated = (await Harness.JsonAsync(response)).GetProperty("refresh_token").GetString()!;
        using var reuse = await h.RefreshAsync(refresh);
        using var next = await h.RefreshAsync(rotated);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(refresh, rotated);
        Assert.Contains(rotated, h.State.IssuedSecrets);
        await Harness.AssertOAuthErrorAsync(reuse, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(3, h.State.RefreshCalls);
    }

    [Fact]
    public async Task RevokedOrUnknownRefreshToken_IsInvalidGrant()
    {
        await using var h = await Harness.StartAsync();
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;

        h.State.RevokeRefreshTokens();
        using var revoked = await h.RefreshAsync(refresh);
        using var unknown = await h.RefreshAsync("unknown-refresh-token");
        var later = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;
        using var issuedAfterRevocation = await h.RefreshAsync(later);

        await Harness.AssertOAuthErrorAsync(revoked, HttpStatusCode.BadRequest, "invalid_grant");
        await Harness.AssertOAuthErrorAsync(unknown, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Equal(HttpStatusCode.OK, issuedAfterRevocation.StatusCode);
    }

    [Fact]
    public async Task ConcurrentRefreshes_AllSucceedWithDistinctAccessTokens()
    {
        await using var h = await Harness.StartAsync();
        var refresh = (await h.SignInAsync()).GetProperty("refresh_token").GetString()!;

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => h.RefreshAsync(refresh)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var accessTokens = await Task.WhenAll(responses.Select(async r => (await Harness.JsonAsync(r)).GetProperty("access_token").GetString()));
        Assert.Equal(40, accessTokens.Distinct().Count());
        Assert.Equal(40, h.State.RefreshCalls);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
