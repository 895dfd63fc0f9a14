using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Webex.Emulator.Tests;

public sealed class CodeExchangeTests
{
    [Fact]
    public async Task CodeFlowWithPkce_IssuesWebexLikeTokens()
    {
        await using var h = await Harness.StartAsync(o =>
        {
            o.AccessTokenLifetime = TimeSpan.FromHours(12);
            o.RefreshTokenLifetime = TimeSpan.FromDays(60);
        });
        var (verifier, challenge) = Harness.NewPkce();
        var code = await h.GetCodeAsync(challenge);

        using var response = await h.ExchangeAsync(code, verifier);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString());
        var json = await Harness.JsonAsync(response);
        var access = json.GetProperty("access_token").GetString()!;
        var refresh = json.GetProperty("refresh_token").GetString()!;
        Assert.Equal(12 * 3600, json.GetProperty("expires_in").GetInt64());
        Assert.Equal(60 * 86400, json.GetProperty("refresh_token_expires_in").GetInt64());
        Assert.Equal("Bearer", json.GetProperty("token_type").GetString());
        Assert.Equal(Harness.Scope, json.GetProperty("scope").GetString());
        Assert.True(access.Length >= 100, access);
        Assert.NotEqual(access, refresh);
        Assert.Equal(access, h.State.LastAccessToken);
        Assert.Contains(access, h.State.IssuedSecrets);
        Assert.Contains(refresh, h.State.IssuedSecrets);
        Assert.Equal(1, h.State.CodeExchanges);
        Assert.Equal(1, h.State.TokenCalls);

        using var me = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
    }

    [Fact]
    public async Task WrongOrMissingVerifier_IsInvalidGrant()
    {
        await using var h = await Harness.StartAsync();
        var (_, challenge) = Harness.NewPkce();

        using var wrong = await h.ExchangeAsync(await h.GetCodeAsync(challenge), Harness.NewPkce().Verifier);
        using var missing = await h.ExchangeAsync(await h.GetCodeAsync(challenge), null);

        await Harness.AssertOAuthErrorAsync(wrong, HttpStatusCode.BadRequest, "invalid_grant");
        await Harness.AssertOAuthErrorAsync(missing, HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task CodeWithoutChallenge_NeedsNoVerifier()
    {
        await using var h = await Harness.StartAsync();

        using var response = await h.ExchangeAsync(await h.GetCodeAsync(challenge: null), null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Code_IsSingleUse()
    {
        await using var h = await Harness.StartAsync();
        var (verifier, challenge) = Harness.NewPkce();
        var code = await h.GetCodeAsync(challenge);

        using var first = await h.ExchangeAsync(code, verifier);
        using var second = await h.ExchangeAsync(code, verifier);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await Harness.AssertOAuthErrorAsync(second, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Equal(2, h.State.CodeExchanges);
    }

    [Fact]
    public async Task Code_ExpiresAfterCodeLifetime()
    {
        await using var h = await Harness.StartAsync(o => o.CodeLifetime = TimeSpan.FromMinutes(5), fakeTime: true);
        var (verifier, challenge) = Harness.NewPkce();
        var fresh = await h.GetCodeAsync(challenge);
        var stale = await h.GetCodeAsync(challenge);

        h.Time!.Advance(TimeSpan.FromMinutes(4));
        using var inTime = await h.ExchangeAsync(fresh, verifier);
        h.Time.Advance(TimeSpan.FromMinutes(1));
        using var late = await h.ExchangeAsync(stale, verifier);

        Assert.Equal(HttpStatusCode.OK, inTime.StatusCode);
        await Harness.AssertOAuthErrorAsync(late, HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task RedirectUriMismatchUnknownCodeOrOtherClientsCode_IsInvalidGrant()
    {
        await using var h = await Harness.StartAsync(o => o.Clients.Add(new EmulatorClient("other-client", "other-secret")));
        var (verifier, challenge) = Harness.NewPkce();

        using var mismatch = await h.ExchangeAsync(await h.GetCodeAsync(challenge), verifier, "http://localhost:5999/elsewhere");
        using var unknown = await h.ExchangeAsync("not-a-code", verifier);
        var othersCode = await h.GetCodeAsync(challenge, clientId: "other-client");
        using var stolen = await h.ExchangeAsync(othersCode, verifier);

        await Harness.AssertOAuthErrorAsync(mismatch, HttpStatusCode.BadRequest, "invalid_grant");
        await Harness.AssertOAuthErrorAsync(unknown, HttpStatusCode.BadRequest, "invalid_grant");
        await Harness.AssertOAuthErrorAsync(stolen, HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task WrongSecretOrUnknownClient_IsInvalidClient401()
    {
        await using var h = await Harness.StartAsync();
        var code = await h.GetCodeAsync(null);

        using var wrongSecret = await h.TokenAsync(
            ("grant_type", "authorization_code"), ("client_id", Harness.ClientId), ("client_secret", "wrong"), ("code", code), ("redirect_uri", Harness.RedirectUri));
        using var unknownClient = await h.TokenAsync(
            ("grant_type", "authorization_code"), ("client_id", "nobody"), ("client_secret", Harness.ClientSecret), ("code", code), ("redirect_uri", Harness.RedirectUri));
        using var noCredentials = await h.TokenAsync(("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Harness.RedirectUri));

        await Harness.AssertOAuthErrorAsync(wrongSecret, HttpStatusCode.Unauthorized, "invalid_client");
        await Harness.AssertOAuthErrorAsync(unknownClient, HttpStatusCode.Unauthorized, "invalid_client");
        await Harness.AssertOAuthErrorAsync(noCredentials, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task HttpBasicClientAuthentication_IsAccepted()
    {
        await using var h = await Harness.StartAsync();
        var code = await h.GetCodeAsync(null);

        using var good = await SendWithBasicAsync(h, Harness.ClientSecret, code);
        using var bad = await SendWithBasicAsync(h, "wrong", code);

        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        await Harness.AssertOAuthErrorAsync(bad, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal("Basic", bad.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task UnknownGrantType_IsUnsupportedGrantType()
    {
        await using var h = await Harness.StartAsync();

        using var response = await h.TokenAsync(
            ("grant_type", "password"), ("client_id", Harness.ClientId), ("client_secret", Harness.ClientSecret), ("username", "u"), ("password", "p"));

        await Harness.AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_grant_type");
    }

    [Fact]
    public async Task NonFormBody_Is400()
    {
        await using var h = await Harness.StartAsync();
        var json = $$"""{"grant_type":"authorization_code","client_id":"{{Harness.ClientId}}","client_secret":"{{Harness.ClientSecret}}"}""";

        using var response = await h.Http.PostAsync(h.Url("/v1/access_token"), new StringContent(json, Encoding.UTF8, "application/json"));

        await Harness.AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        Assert.Equal(1, h.State.TokenCalls);
    }

    [Fact]
    public async Task IssuedSecrets_AreUniqueAndLong()
    {
        await using var h = await Harness.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            var tokens = await h.SignInAsync();
            using var refreshed = await h.RefreshAsync(tokens.GetProperty("refresh_token").GetString()!);
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        }

        var secrets = h.State.IssuedSecrets;
        Assert.Equal(5 * 4, secrets.Count); // code, access, refresh, refreshed access
        Assert.Equal(secrets.Count, secrets.Distinct().Count());
        Assert.All(secrets, s => Assert.True(s.Length >= 100, s));
    }

    private static Task<HttpResponseMessage> SendWithBasicAsync(Harness h, string secret, string code)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, h.Url("/v1/access_token"))
        {
            Content = new FormUrlEncodedContent(
            [
                KeyValuePair.Create("grant_type", "authorization_code"), KeyValuePair.Create("code", code), KeyValuePair.Create("redirect_uri", Harness.RedirectUri),
            ]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Harness.ClientId}:{secret}")));
        return h.Http.SendAsync(request);
    }
}
