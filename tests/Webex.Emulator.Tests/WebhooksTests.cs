using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
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

    [Fact]
    public async Task AMessage_IsDeliveredSigned_ToEveryMembersWebhook_AndNobodyElses()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(2));
        var (bob, carol) = (h.State.People[1], h.State.People[2]);
        var ada = await SignInAsync(h);
        var bobToken = await SignInAsync(h, bob.Email);
        var carolToken = await SignInAsync(h, carol.Email);
        var roomId = h.State.RoomIds[0];
        await AddMemberAsync(h, ada, roomId, bob.Id);
        var adaHook = await CreateIdAsync(h, ada, receiver.Target("/ada").ToString(), secret: "ada-secret");
        var bobHook = await CreateIdAsync(h, bobToken, receiver.Target("/bob").ToString(), secret: "bob-secret");
        var carolHook = await CreateIdAsync(h, carolToken, receiver.Target("/carol").ToString(), secret: "carol-secret");

        var message = await PostMessageAsync(h, ada, roomId, "hello both");
        var carolsOwn = await PostMessageAsync(h, carolToken, h.State.RoomIdsFor(carol.Id)[1], "just me");

        var adaDelivery = Assert.Single(await h.State.WaitForWebhookDeliveriesAsync(adaHook, 1));
        var bobDelivery = Assert.Single(await h.State.WaitForWebhookDeliveriesAsync(bobHook, 1));
        var carolDelivery = Assert.Single(await h.State.WaitForWebhookDeliveriesAsync(carolHook, 1)); // her own room's, not Ada's
        foreach (var (delivery, path, secret, hook, owner) in new[]
        {
            (adaDelivery, "/ada", "ada-secret", adaHook, h.State.Person.Id), (bobDelivery, "/bob", "bob-secret", bobHook, bob.Id),
        })
        {
            var received = Assert.Single(receiver.At(path));
            Assert.Equal("POST", received.Method);
            Assert.Equal("application/json", MediaTypeHeaderValue.Parse(received.ContentType!).MediaType);
            Assert.Equal(delivery.Body, received.Body);
            Assert.Equal(Sign(received.Body, secret), received.Signature);
            Assert.Equal(received.Signature, delivery.Signature);
            Assert.Equal(200, delivery.Status);
            Assert.True(delivery.Delivered);
            Assert.Equal(WebhookDeliveryKind.Event, delivery.Kind);
            Assert.Equal(owner, delivery.PersonId);
            Assert.Equal(receiver.Target(path), delivery.TargetUrl);

            var payload = JsonDocument.Parse(received.Body).RootElement;
            Assert.Equal(hook, payload.GetProperty("id").GetString());
            Assert.Equal("hook", payload.GetProperty("name").GetString());
            Assert.Equal(receiver.Target(path).ToString(), payload.GetProperty("targetUrl").GetString());
            Assert.Equal("messages", payload.GetProperty("resource").GetString());
            Assert.Equal("created", payload.GetProperty("event").GetString());
            Assert.False(payload.TryGetProperty("filter", out _));
            Assert.False(payload.TryGetProperty("secret", out _));
            Assert.Equal(h.State.Person.OrgId, payload.GetProperty("orgId").GetString());
            Assert.Equal(owner, payload.GetProperty("createdBy").GetString());
            Assert.Equal("ciscospark://us/APPLICATION/" + Harness.ClientId, Decode(payload.GetProperty("appId").GetString()!));
            Assert.Equal("creator", payload.GetProperty("ownedBy").GetString());
            Assert.Equal("active", payload.GetProperty("status").GetString());
            Assert.EndsWith("Z", payload.GetProperty("created").GetString());
            Assert.Equal(h.State.Person.Id, payload.GetProperty("actorId").GetString());
            var data = payload.GetProperty("data");
            Assert.Equal(message.GetProperty("id").GetString(), data.GetProperty("id").GetString());
            Assert.Equal(roomId, data.GetProperty("roomId").GetString());
            Assert.Equal("group", data.GetProperty("roomType").GetString());
            Assert.Equal(h.State.Person.Id, data.GetProperty("personId").GetString());
            Assert.Equal(h.State.Person.Email, data.GetProperty("personEmail").GetString());
            Assert.Equal(message.GetProperty("created").GetString(), data.GetProperty("created").GetString());
            Assert.False(data.TryGetProperty("text", out _)); // Webex leaves the content out: the receiver fetches it
        }

        Assert.Equal(carolsOwn.GetProperty("id").GetString(), JsonDocument.Parse(carolDelivery.Body).RootElement.GetProperty("data").GetProperty("id").GetString());
        Assert.Single(receiver.At("/carol"));
    }

    [Fact]
    public async Task Deliveries_AreMadeInTheBackground_AndInOrderPerWebhook()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync();
        var ada = await SignInAsync(h);
        var hook = await CreateIdAsync(h, ada, receiver.Target("/ada").ToString());
        receiver.Hold();

        var posted = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            // Each answers while the receiver still holds the first delivery.
            posted.Add((await PostMessageAsync(h, ada, h.State.RoomIds[1], $"m{i}")).GetProperty("id").GetString()!);
        }

        Assert.Empty(h.State.WebhookDeliveries);
        receiver.Release();
        var deliveries = await h.State.WaitForWebhookDeliveriesAsync(hook, 5);

        Assert.Equal(posted, deliveries.Select(d => JsonDocument.Parse(d.Body).RootElement.GetProperty("data").GetProperty("id").GetString()!));
        Assert.Equal(deliveries.Select(d => d.Body), receiver.At("/ada").Select(r => r.Body));
    }

    [Fact]
    public async Task AMessageWithAFile_IsDeliveredWithItsFiles_AndAWebhookWithoutSecretIsNotSigned()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync();
        var ada = await SignInAsync(h);
        var hook = await CreateIdAsync(h, ada, receiver.Target("/ada").ToString(), secret: null);
        using var form = new MultipartFormDataContent
        {
            { new StringContent(h.State.RoomIds[1]), "roomId" },
            { new StringContent("a file"), "text" },
            { new ByteArrayContent("hello"u8.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("text/plain") } }, "files", "hello.txt" },
        };

        using var posted = await h.ApiAsync(HttpMethod.Post, "/v1/messages", ada, form);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var message = await Harness.JsonAsync(posted);

        var delivery = Assert.Single(await h.State.WaitForWebhookDeliveriesAsync(hook, 1));
        var data = JsonDocument.Parse(delivery.Body).RootElement.GetProperty("data");
        Assert.Equal(message.GetProperty("files")[0].GetString(), Assert.Single(data.GetProperty("files").EnumerateArray()).GetString());
        Assert.Null(delivery.Signature);
        Assert.Equal("", Assert.Single(receiver.At("/ada")).Signature);
    }

    [Fact]
    public async Task EventsAndFilters_PickWhatAWebhookGets()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync();
        var ada = await SignInAsync(h);
        var (room1, room2) = (h.State.RoomIds[0], h.State.RoomIds[1]);
        var all = await CreateIdAsync(h, ada, receiver.Target("/all").ToString(), @event: "all");
        var deleted = await CreateIdAsync(h, ada, receiver.Target("/deleted").ToString(), @event: "deleted");
        var inRoom1 = await CreateIdAsync(h, ada, receiver.Target("/room1").ToString(), @event: "all", filter: "roomId=" + room1);
        var byOther = await CreateIdAsync(h, ada, receiver.Target("/other").ToString(), filter: "personEmail=someone.else@example.com");
        var memberships = await CreateIdAsync(h, ada, receiver.Target("/memberships").ToString(), resource: "memberships", @event: "all");
        var marker = await CreateIdAsync(h, ada, receiver.Target("/marker").ToString(), @event: "deleted", filter: "roomId=" + h.State.RoomIds[2]);

        var first = await PostMessageAsync(h, ada, room1, "one");
        var second = await PostMessageAsync(h, ada, room2, "two");
        await DeleteMessageAsync(h, ada, first);
        await DeleteMessageAsync(h, ada, second);
        // The marker webhook's delivery comes last: once it is there, every other webhook has been offered everything.
        await DeleteMessageAsync(h, ada, await PostMessageAsync(h, ada, h.State.RoomIds[2], "marker"));
        await h.State.WaitForWebhookDeliveriesAsync(marker, 1);

        Assert.Equal(
            [("created", Id(first)), ("created", Id(second)), ("deleted", Id(first)), ("deleted", Id(second))],
            (await h.State.WaitForWebhookDeliveriesAsync(all, 6)).Take(4).Select(EventOf));
        Assert.Equal([("deleted", Id(first)), ("deleted", Id(second))], (await h.State.WaitForWebhookDeliveriesAsync(deleted, 3)).Take(2).Select(EventOf));
        Assert.Equal([("created", Id(first)), ("deleted", Id(first))], (await h.State.WaitForWebhookDeliveriesAsync(inRoom1, 2)).Select(EventOf));
        await Task.Delay(200); // anything still on its way to the webhooks that must get nothing
        Assert.DoesNotContain(h.State.WebhookDeliveries, d => d.WebhookId == byOther || d.WebhookId == memberships);
        Assert.Equal(2, h.State.WebhookDeliveries.Count(d => d.WebhookId == inRoom1));
    }

    [Fact]
    public async Task DeletingARoom_TellsEveryMemberThatEachMembershipEnded()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var bob = h.State.People[1];
        var ada = await SignInAsync(h);
        var bobToken = await SignInAsync(h, bob.Email);
        using var created = await h.ApiAsync(HttpMethod.Post, "/v1/rooms", ada, JsonContent.Create(new { title = "To delete" }));
        var roomId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        await AddMemberAsync(h, ada, roomId, bob.Id);
        var adaDeleted = await CreateIdAsync(h, ada, receiver.Target("/ada").ToString(), resource: "memberships", @event: "deleted");
        var bobDeleted = await CreateIdAsync(h, bobToken, receiver.Target("/bob").ToString(), resource: "memberships", @event: "deleted");

        using var deleted = await h.ApiAsync(HttpMethod.Delete, "/v1/rooms/" + Uri.EscapeDataString(roomId), ada);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        foreach (var webhook in new[] { adaDeleted, bobDeleted })
        {
            var ended = (await h.State.WaitForWebhookDeliveriesAsync(webhook, 2))
                .Select(d => JsonDocument.Parse(d.Body).RootElement.GetProperty("data"))
                .ToList();
            Assert.All(ended, data => Assert.Equal(roomId, data.GetProperty("roomId").GetString()));
            Assert.Equal(new[] { bob.Id, h.State.Person.Id }.Order(), ended.Select(data => data.GetProperty("personId").GetString()).Order());
        }
    }

    [Fact]
    public async Task MembershipEvents_GoToEveryMember_AndToThePersonRemoved()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var bob = h.State.People[1];
        var ada = await SignInAsync(h);
        var bobToken = await SignInAsync(h, bob.Email);
        var roomId = h.State.RoomIds[1];
        var adaAll = await CreateIdAsync(h, ada, receiver.Target("/ada").ToString(), resource: "memberships", @event: "all");
        var bobCreated = await CreateIdAsync(h, bobToken, receiver.Target("/bob-created").ToString(), resource: "memberships", @event: "created");
        var bobDeleted = await CreateIdAsync(h, bobToken, receiver.Target("/bob-deleted").ToString(), resource: "memberships", @event: "deleted", filter: "roomId=" + roomId);

        var membership = await AddMemberAsync(h, ada, roomId, bob.Id);
        using var removed = await h.ApiAsync(HttpMethod.Delete, "/v1/memberships/" + Uri.EscapeDataString(membership.GetProperty("id").GetString()!), ada);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);

        var adas = await h.State.WaitForWebhookDeliveriesAsync(adaAll, 2);
        var bobJoined = Assert.Single(await h.State.WaitForWebhookDeliveriesAsync(bobCreated, 1));
        var bobLeft = Assert.Single(await h.State.WaitForWebhookDeliveriesAsync(bobDeleted, 1));
        Assert.Equal(["created", "deleted"], adas.Select(d => EventOf(d).Event));
        foreach (var delivery in adas.Append(bobJoined).Append(bobLeft))
        {
            var payload = JsonDocument.Parse(delivery.Body).RootElement;
            Assert.Equal("memberships", payload.GetProperty("resource").GetString());
            Assert.Equal(h.State.Person.Id, payload.GetProperty("actorId").GetString());
            Assert.Equal(membership.GetRawText(), payload.GetProperty("data").GetRawText());
            Assert.Equal(Sign(delivery.Body, "s3cret"), delivery.Signature);
        }

        Assert.Equal("deleted", EventOf(bobLeft).Event);
    }

    [Fact]
    public async Task RoomEvents_GoToTheRoomsMembers_WithTheRoomAsData()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var bob = h.State.People[1];
        var ada = await SignInAsync(h);
        var bobToken = await SignInAsync(h, bob.Email);
        var adaAll = await CreateIdAsync(h, ada, receiver.Target("/ada").ToString(), resource: "rooms", @event: "all");
        var bobUpdated = await CreateIdAsync(h, bobToken, receiver.Target("/bob").ToString(), resource: "rooms", @event: "updated");

        using var created = await h.ApiAsync(HttpMethod.Post, "/v1/rooms", ada, JsonContent.Create(new { title = "Launch" }));
        var room = await Harness.JsonAsync(created);
        var roomId = Id(room);
        await AddMemberAsync(h, ada, roomId, bob.Id);
        using var updated = await h.ApiAsync(HttpMethod.Put, "/v1/rooms/" + Uri.EscapeDataString(roomId), ada, JsonContent.Create(new { title = "Launch day" }));
        var renamed = await Harness.JsonAsync(updated);

        var adas = await h.State.WaitForWebhookDeliveriesAsync(adaAll, 2);
        var bobs = Assert.Single(await h.State.WaitForWebhookDeliveriesAsync(bobUpdated, 1));
        Assert.Equal(["created", "updated"], adas.Select(d => EventOf(d).Event));
        foreach (var (delivery, data) in new[] { (adas[0], room), (adas[1], renamed), (bobs, renamed) })
        {
            var payload = JsonDocument.Parse(delivery.Body).RootElement;
            Assert.Equal("rooms", payload.GetProperty("resource").GetString());
            Assert.Equal(h.State.Person.Id, payload.GetProperty("actorId").GetString());
            Assert.Equal(data.GetRawText(), payload.GetProperty("data").GetRawText());
            Assert.Equal(Sign(delivery.Body, "s3cret"), delivery.Signature);
        }
    }

    [Fact]
    public async Task FailedDeliveries_DisableTheWebhook_UntilAPutReactivatesIt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync(o => o.DisableWebhookAfterFailures = 3);
        var ada = await SignInAsync(h);
        var roomId = h.State.RoomIds[1];
        var failing = await CreateIdAsync(h, ada, receiver.Target("/ada").ToString());
        var unreachable = await CreateIdAsync(h, ada, $"http://127.0.0.1:{ClosedPort()}/nobody");
        receiver.Status = 500;

        // A success in between starts the count again.
        await PostMessageAsync(h, ada, roomId, "fail 1");
        await PostMessageAsync(h, ada, roomId, "fail 2");
        await h.State.WaitForWebhookDeliveriesAsync(failing, 2);
        receiver.Status = 204;
        await PostMessageAsync(h, ada, roomId, "ok");
        await h.State.WaitForWebhookDeliveriesAsync(failing, 3);
        receiver.Status = 503;
        for (var i = 0; i < 3; i++)
        {
            await PostMessageAsync(h, ada, roomId, $"fail again {i}");
        }

        var deliveries = await h.State.WaitForWebhookDeliveriesAsync(failing, 6);
        Assert.Equal([500, 500, 204, 503, 503, 503], deliveries.Select(d => d.Status));
        Assert.Equal("disabled", await StatusAsync(h, ada, failing));
        var unreachableDeliveries = await h.State.WaitForWebhookDeliveriesAsync(unreachable, 3);
        Assert.All(unreachableDeliveries, d => Assert.Null(d.Status));
        Assert.Equal("disabled", await StatusAsync(h, ada, unreachable));

        var missed = await PostMessageAsync(h, ada, roomId, "while disabled");
        receiver.Status = 200;
        using var reactivated = await h.ApiAsync(HttpMethod.Put, "/v1/webhooks/" + Uri.EscapeDataString(failing), ada,
            JsonContent.Create(new { name = "hook", targetUrl = receiver.Target("/ada").ToString(), status = "active" }));
        Assert.Equal("active", (await Harness.JsonAsync(reactivated)).GetProperty("status").GetString());
        var after = await PostMessageAsync(h, ada, roomId, "after");

        var next = (await h.State.WaitForWebhookDeliveriesAsync(failing, 7))[6];
        Assert.Equal(Id(after), EventOf(next).Id); // the one made while it was disabled never came
        Assert.NotEqual(Id(missed), EventOf(next).Id);
        Assert.Equal(7, receiver.At("/ada").Count);
        Assert.Equal(3, h.State.WebhookDeliveries.Count(d => d.WebhookId == unreachable));
        Assert.Equal("active", await StatusAsync(h, ada, failing));
        Assert.Equal("disabled", Assert.Single(h.State.WebhooksOf(h.State.Person.Id), w => w.Id == unreachable).Status);
    }

    [Fact]
    public async Task ForgedAndRedeliveredDeliveries_ReachTheTarget()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var h = await Harness.StartAsync();
        var ada = await SignInAsync(h);
        var hook = await CreateIdAsync(h, ada, receiver.Target("/ada").ToString(), filter: "roomId=" + h.State.RoomIds[1]);
        await PostMessageAsync(h, ada, h.State.RoomIds[1], "real");
        var real = Assert.Single(await h.State.WaitForWebhookDeliveriesAsync(hook, 1));

        var again = await h.State.RedeliverAsync(real);
        var wrongSignature = await h.State.DeliverForgedAsync(hook, ForgedDelivery.WrongSignature);
        var noSignature = await h.State.DeliverForgedAsync(hook, ForgedDelivery.NoSignature);
        var tampered = await h.State.DeliverForgedAsync(hook, ForgedDelivery.TamperedBody);
        var unknown = await h.State.DeliverForgedAsync(hook, ForgedDelivery.UnknownWebhookId);
        var raw = await h.State.DeliverForgedAsync(hook, "{\"id\":\"x\"}"u8.ToArray(), "00ff");

        var received = receiver.At("/ada");
        Assert.Equal(7, received.Count);
        Assert.Equal(real.Body, received[1].Body);
        Assert.Equal(real.Signature, received[1].Signature);
        Assert.Equal(WebhookDeliveryKind.Redelivery, again.Kind);
        Assert.Equal(200, again.Status);
        Assert.NotEqual(Sign(received[2].Body, "s3cret"), received[2].Signature);
        Assert.Matches("^[0-9a-f]{40}$", received[2].Signature);
        Assert.Equal("", received[3].Signature);
        Assert.NotEqual(Sign(received[4].Body, "s3cret"), received[4].Signature);
        Assert.Equal(Sign(received[5].Body, "s3cret"), received[5].Signature);
        Assert.NotEqual(hook, JsonDocument.Parse(received[5].Body).RootElement.GetProperty("id").GetString());
        Assert.Equal("{\"id\":\"x\"}"u8.ToArray(), received[6].Body);
        Assert.Equal("00ff", received[6].Signature);
        foreach (var forged in new[] { wrongSignature, noSignature, tampered, unknown, raw })
        {
            Assert.Equal(WebhookDeliveryKind.Forged, forged.Kind);
            Assert.Equal(hook, forged.WebhookId);
        }

        foreach (var (forged, index) in new[] { (wrongSignature, 2), (noSignature, 3), (tampered, 4), (unknown, 5) })
        {
            var payload = JsonDocument.Parse(forged.Body).RootElement;
            Assert.Equal(received[index].Body, forged.Body);
            Assert.Equal("messages", payload.GetProperty("resource").GetString());
            Assert.Equal(h.State.RoomIds[1], payload.GetProperty("data").GetProperty("roomId").GetString());
            Assert.NotEqual(EventOf(real).Id, payload.GetProperty("data").GetProperty("id").GetString());
        }

        Assert.Single(h.State.WebhookDeliveries, d => d.Kind == WebhookDeliveryKind.Event);
        await Assert.ThrowsAsync<ArgumentException>(() => h.State.DeliverForgedAsync("no-such-webhook"));
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

    private static async Task<JsonElement> PostMessageAsync(Harness h, string token, string roomId, string text)
    {
        using var response = await h.ApiAsync(HttpMethod.Post, "/v1/messages", token, JsonContent.Create(new { roomId, text }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await Harness.JsonAsync(response);
    }

    private static async Task DeleteMessageAsync(Harness h, string token, JsonElement message)
    {
        using var response = await h.ApiAsync(HttpMethod.Delete, "/v1/messages/" + Uri.EscapeDataString(Id(message)), token);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private static async Task<JsonElement> AddMemberAsync(Harness h, string token, string roomId, string personId)
    {
        using var response = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", token, JsonContent.Create(new { roomId, personId }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await Harness.JsonAsync(response);
    }

    private static async Task<string> StatusAsync(Harness h, string token, string webhookId)
    {
        using var response = await h.ApiAsync(HttpMethod.Get, "/v1/webhooks/" + Uri.EscapeDataString(webhookId), token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Harness.JsonAsync(response)).GetProperty("status").GetString()!;
    }

    private static string Id(JsonElement message) => message.GetProperty("id").GetString()!;

    private static (string Event, string Id) EventOf(WebhookDelivery delivery)
    {
        var payload = JsonDocument.Parse(delivery.Body).RootElement;
        return (payload.GetProperty("event").GetString()!, payload.GetProperty("data").GetProperty("id").GetString()!);
    }

    private static string Sign(byte[] body, string secret) => Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>A loopback port nothing listens on (it was free a moment ago).</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Decode(string id) => Encoding.UTF8.GetString(Convert.FromBase64String(id.PadRight(id.Length + ((4 - (id.Length % 4)) % 4), '=')));
}
