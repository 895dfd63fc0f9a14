using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Webex.Emulator.Tests;

/// <summary>/v1/webhooks as Webex has it, and the signed deliveries the emulator makes to a real receiver on 127.0.0.1.</summary>
public sealed class WebhooksTests
{
    private const string ReadScopes = "spark:people_read spark:rooms_read spark:messages_read spark:messages_write spark:memberships_read spark:memberships_write";
    private const string OtherClientId = "C0ther0000000000000000000000000000000000000000000000000000000000";
    private const string OtherClientSecret = "0ther00000000000000000000000000000000000000000000000000000000000";

    [Fact]
    public async Task Create_Get_List_Update_Delete_AsWebex()
    {
        await using var h = await Harness.StartAsync(fakeTime: true);
        var token = await SignInAsync(h);
        var roomId = h.State.RoomIds[0];

        using var created = await CreateAsync(h, token, new
        {
            name = "my hook", targetUrl = "https://example.com/hook", resource = "messages", @event = "created",
            filter = "roomId=" + roomId, secret = "s3cret",
        });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var webhook = await Harness.JsonAsync(created);
        var id = webhook.GetProperty("id").GetString()!;
        Assert.StartsWith("ciscospark://us/WEBHOOK/", Decode(id));
        Assert.Equal("my hook", webhook.GetProperty("name").GetString());
        Assert.Equal("https://example.com/hook", webhook.GetProperty("targetUrl").GetString());
        Assert.Equal("messages", webhook.GetProperty("resource").GetString());
        Assert.Equal("created", webhook.GetProperty("event").GetString());
        Assert.Equal("roomId=" + roomId, webhook.GetProperty("filter").GetString());
        Assert.Equal("s3cret", webhook.GetProperty("secret").GetString());
        Assert.Equal("active", webhook.GetProperty("status").GetString());
        Assert.Equal("2025-03-14T09:26:53.000Z", webhook.GetProperty("created").GetString());
        Assert.Equal("creator", webhook.GetProperty("ownedBy").GetString());
        Assert.Equal(h.State.Person.Id, webhook.GetProperty("createdBy").GetString());
        Assert.Equal(h.State.Person.OrgId, webhook.GetProperty("orgId").GetString());
        Assert.Equal("ciscospark://us/APPLICATION/" + Harness.ClientId, Decode(webhook.GetProperty("appId").GetString()!));

        using var get = await h.ApiAsync(HttpMethod.Get, "/v1/webhooks/" + Uri.EscapeDataString(id), token);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(webhook.GetRawText(), (await Harness.JsonAsync(get)).GetRawText());

        using var list = await h.ApiAsync(HttpMethod.Get, "/v1/webhooks", token);
        Assert.Equal(id, Assert.Single((await Harness.JsonAsync(list)).GetProperty("items").EnumerateArray()).GetProperty("id").GetString());

        using var updated = await h.ApiAsync(HttpMethod.Put, "/v1/webhooks/" + Uri.EscapeDataString(id), token,
            JsonContent.Create(new { name = "renamed", targetUrl = "http://127.0.0.1:9/hook", status = "inactive" }));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var after = await Harness.JsonAsync(updated);
        Assert.Equal("renamed", after.GetProperty("name").GetString());
        Assert.Equal("http://127.0.0.1:9/hook", after.GetProperty("targetUrl").GetString());
        Assert.Equal("inactive", after.GetProperty("status").GetString());
        Assert.Equal("s3cret", after.GetProperty("secret").GetString()); // kept when the update does not give one
        Assert.Equal("messages", after.GetProperty("resource").GetString());

        using var deleted = await h.ApiAsync(HttpMethod.Delete, "/v1/webhooks/" + Uri.EscapeDataString(id), token);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await deleted.Content.ReadAsByteArrayAsync());
        using var gone = await h.ApiAsync(HttpMethod.Get, "/v1/webhooks/" + Uri.EscapeDataString(id), token);
        await Harness.AssertWebexErrorAsync(gone, HttpStatusCode.NotFound);
        using var deleteAgain = await h.ApiAsync(HttpMethod.Delete, "/v1/webhooks/" + Uri.EscapeDataString(id), token);
        await Harness.AssertWebexErrorAsync(deleteAgain, HttpStatusCode.NotFound);
        using var updateGone = await h.ApiAsync(HttpMethod.Put, "/v1/webhooks/" + Uri.EscapeDataString(id), token,
            JsonContent.Create(new { name = "x", targetUrl = "https://example.com/hook" }));
        await Harness.AssertWebexErrorAsync(updateGone, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1]")]
    [InlineData("""{"targetUrl":"https://example.com/h","resource":"messages","event":"created"}""")]
    [InlineData("""{"name":"","targetUrl":"https://example.com/h","resource":"messages","event":"created"}""")]
    [InlineData("""{"name":"n","resource":"messages","event":"created"}""")]
    [InlineData("""{"name":"n","targetUrl":"http://example.com/h","resource":"messages","event":"created"}""")]
    [InlineData("""{"name":"n","targetUrl":"ftp://127.0.0.1/h","resource":"messages","event":"created"}""")]
    [InlineData("""{"name":"n","targetUrl":"/relative","resource":"messages","event":"created"}""")]
    [InlineData("""{"name":"n","targetUrl":"https://example.com/h","event":"created"}""")]
    [InlineData("""{"name":"n","targetUrl":"https://example.com/h","resource":"meetings","event":"created"}""")]
    [InlineData("""{"name":"n","targetUrl":"https://example.com/h","resource":"messages"}""")]
    [InlineData("""{"name":"n","targetUrl":"https://example.com/h","resource":"messages","event":"exploded"}""")]
    [InlineData("""{"name":"n","targetUrl":"https://example.com/h","resource":"messages","event":"created","filter":"colour=blue"}""")]
    [InlineData("""{"name":"n","targetUrl":"https://example.com/h","resource":"messages","event":"created","secret":42}""")]
    [InlineData("""{"name":"n","targetUrl":"https://example.com/h","resource":"messages","event":"created","ownedBy":"org"}""")]
    public async Task Create_InvalidBody_Is400(string body)
    {
        await using var h = await Harness.StartAsync();
        var token = await SignInAsync(h);

        using var response = await h.ApiAsync(HttpMethod.Post, "/v1/webhooks", token, new StringContent(body, Encoding.UTF8, "application/json"));

        await Harness.AssertWebexErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Empty(await ItemsAsync(h, token));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://[::1]:5000/hook")]
    [InlineData("https://gateway.example.com/webhooks/webex")]
    public async Task Create_TakesHttpsAndLoopbackHttp(string targetUrl)
    {
        await using var h = await Harness.StartAsync();
        var token = await SignInAsync(h);

        using var response = await CreateAsync(h, token, new { name = "n", targetUrl, resource = "memberships", @event = "all" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Update_InvalidBody_Is400_AndChangesNothing()
    {
        await using var h = await Harness.StartAsync();
        var token = await SignInAsync(h);
        var id = await CreateIdAsync(h, token, "https://example.com/hook");

        foreach (var body in new object[]
        {
            new { targetUrl = "https://example.com/other" },
            new { name = "n", targetUrl = "http://example.com/plain" },
            new { name = "n", targetUrl = "https://example.com/other", status = "sleeping" },
        })
        {
            using var response = await h.ApiAsync(HttpMethod.Put, "/v1/webhooks/" + Uri.EscapeDataString(id), token, JsonContent.Create(body));
            await Harness.AssertWebexErrorAsync(response, HttpStatusCode.BadRequest);
        }

        using var get = await h.ApiAsync(HttpMethod.Get, "/v1/webhooks/" + Uri.EscapeDataString(id), token);
        Assert.Equal("https://example.com/hook", (await Harness.JsonAsync(get)).GetProperty("targetUrl").GetString());
    }

    [Theory]
    [InlineData("messages", "spark:messages_read")]
    [InlineData("memberships", "spark:memberships_read")]
    [InlineData("rooms", "spark:rooms_read")]
    public async Task Create_WithoutTheResourcesReadScope_Is403(string resource, string scope)
    {
        await using var h = await Harness.StartAsync();
        var narrow = await SignInAsync(h, scope: string.Join(' ', ReadScopes.Split(' ').Where(s => s != scope)));
        var wide = await SignInAsync(h);

        using var refused = await CreateAsync(h, narrow, new { name = "n", targetUrl = "https://example.com/h", resource, @event = "created" });
        using var allowed = await CreateAsync(h, wide, new { name = "n", targetUrl = "https://example.com/h", resource, @event = "created" });

        await Harness.AssertWebexErrorAsync(refused, HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task WithoutAValidToken_Is401()
    {
        await using var h = await Harness.StartAsync();
        var token = await SignInAsync(h);
        var id = await CreateIdAsync(h, token, "https://example.com/hook");
        h.State.ExpireAccessTokens();

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/v1/webhooks"), (HttpMethod.Post, "/v1/webhooks"), (HttpMethod.Get, "/v1/webhooks/" + id),
            (HttpMethod.Put, "/v1/webhooks/" + id), (HttpMethod.Delete, "/v1/webhooks/" + id),
        })
        {
            using var expired = await h.ApiAsync(method, path, token, JsonContent.Create(new { name = "n" }));
            using var none = await h.ApiAsync(method, path, null, JsonContent.Create(new { name = "n" }));
            await Harness.AssertWebexErrorAsync(expired, HttpStatusCode.Unauthorized);
            await Harness.AssertWebexErrorAsync(none, HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task APersonSeesOnlyTheirOwn_MadeByTheSameIntegration()
    {
        await using var h = await Harness.StartAsync(o =>
        {
            o.AddGeneratedPeople(1);
            o.Clients.Add(new EmulatorClient(OtherClientId, OtherClientSecret));
        });
        var bob = h.State.People[1];
        var ada = await SignInAsync(h);
        var adaAgain = await SignInAsync(h);
        var adaOtherApp = await SignInAsync(h, clientId: OtherClientId, clientSecret: OtherClientSecret);
        var bobToken = await SignInAsync(h, bob.Email);
        var adas = await CreateIdAsync(h, ada, "https://example.com/ada");
        var bobs = await CreateIdAsync(h, bobToken, "https://example.com/bob");
        var otherApps = await CreateIdAsync(h, adaOtherApp, "https://example.com/other-app");

        Assert.Equal([adas], await ItemsAsync(h, adaAgain));
        Assert.Equal([bobs], await ItemsAsync(h, bobToken));
        Assert.Equal([otherApps], await ItemsAsync(h, adaOtherApp));
        foreach (var (token, foreign) in new[] { (bobToken, adas), (adaOtherApp, adas), (ada, bobs), (ada, otherApps) })
        {
            var path = "/v1/webhooks/" + Uri.EscapeDataString(foreign);
            using var get = await h.ApiAsync(HttpMethod.Get, path, token);
            using var put = await h.ApiAsync(HttpMethod.Put, path, token, JsonContent.Create(new { name = "mine", targetUrl = "https://example.com/x" }));
            using var delete = await h.ApiAsync(HttpMethod.Delete, path, token);
            await Harness.AssertWebexErrorAsync(get, HttpStatusCode.NotFound);
            await Harness.AssertWebexErrorAsync(put, HttpStatusCode.NotFound);
            await Harness.AssertWebexErrorAsync(delete, HttpStatusCode.NotFound);
        }

        Assert.Equal([adas], await ItemsAsync(h, ada));
        Assert.Equal([bobs], await ItemsAsync(h, bobToken));
    }

    [Fact]
    public async Task List_PaginatesThroughLink()
    {
        await using var h = await Harness.StartAsync();
        var token = await SignInAsync(h);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await CreateIdAsync(h, token, $"https://example.com/{i}"));
        }

        var seen = new List<string>();
        var next = "/v1/webhooks?max=2";
        for (var guard = 0; next is not null && guard < 10; guard++)
        {
            using var page = await h.ApiAsync(HttpMethod.Get, next, token);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            seen.AddRange((await Harness.JsonAsync(page)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!));
            next = page.Headers.TryGetValues("Link", out var link) ? new Uri(link.Single()[1..link.Single().IndexOf('>')]).PathAndQuery : null;
        }

        Assert.Equal(ids, seen);
        using var badMax = await h.ApiAsync(HttpMethod.Get, "/v1/webhooks?max=0", token);
        using var badCursor = await h.ApiAsync(HttpMethod.Get, "/v1/webhooks?cursor=abc", token);
        await Harness.AssertWebexErrorAsync(badMax, HttpStatusCode.BadRequest);
        await Harness.AssertWebexErrorAsync(badCursor, HttpStatusCode.BadRequest);
    }

    private static async Task<string> SignInAsync(
        Harness h, string? loginHint = null, string scope = ReadScopes, string clientId = Harness.ClientId, string clientSecret = Harness.ClientSecret)
    {
        var (verifier, challenge) = Harness.NewPkce();
        using var authorized = await h.AuthorizeAsync(challenge, clientId: clientId, scope: scope, loginHint: loginHint);
        Assert.Equal(HttpStatusCode.Found, authorized.StatusCode);
        using var response = await h.TokenAsync(
            ("grant_type", "authorization_code"), ("client_id", clientId), ("client_secret", clientSecret),
            ("code", Harness.RedirectParameters(authorized)["code"]), ("redirect_uri", Harness.RedirectUri), ("code_verifier", verifier));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Harness.JsonAsync(response)).GetProperty("access_token").GetString()!;
    }

    private static Task<HttpResponseMessage> CreateAsync(Harness h, string token, object body) =>
        h.ApiAsync(HttpMethod.Post, "/v1/webhooks", token, JsonContent.Create(body));

    private static async Task<string> CreateIdAsync(
        Harness h, string token, string targetUrl, string resource = "messages", string @event = "created", string? filter = null, string? secret = "s3cret")
    {
        using var response = await CreateAsync(h, token, new { name = "hook", targetUrl, resource, @event, filter, secret });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Harness.JsonAsync(response)).GetProperty("id").GetString()!;
    }

    private static async Task<List<string>> ItemsAsync(Harness h, string token)
    {
        using var response = await h.ApiAsync(HttpMethod.Get, "/v1/webhooks", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Harness.JsonAsync(response)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!).ToList();
    }

    private static string Decode(string id) => Encoding.UTF8.GetString(Convert.FromBase64String(id.PadRight(id.Length + ((4 - (id.Length % 4)) % 4), '=')));
}
