using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Webex.Emulator.Tests;

/// <summary>/v1/memberships: members of a group room add and remove people; a room is visible to its members only.</summary>
public sealed class MembershipsTests
{
    [Fact]
    public async Task AMemberAddsSomeone_WhoThenSharesTheRoom_UntilRemoved()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(2));
        var bob = h.State.People[1];
        var carol = h.State.People[2];
        var ada = await h.SignInForAccessTokenAsync();
        var bobToken = await h.SignInForAccessTokenAsync(bob.Email);
        var carolToken = await h.SignInForAccessTokenAsync(carol.Email);
        var roomId = h.State.RoomIds[0]; // a group room whose id has '/' and '+'
        var room = "/v1/rooms/" + Uri.EscapeDataString(roomId);

        using (var before = await h.ApiAsync(HttpMethod.Get, room, bobToken))
        {
            await Harness.AssertWebexErrorAsync(before, HttpStatusCode.NotFound);
        }

        using var added = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", ada, JsonContent.Create(new { roomId, personEmail = bob.Email.ToUpperInvariant() }));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var membership = await Harness.JsonAsync(added);
        var id = membership.GetProperty("id").GetString()!;
        Assert.Equal(roomId, membership.GetProperty("roomId").GetString());
        Assert.Equal(bob.Id, membership.GetProperty("personId").GetString());
        Assert.Equal(bob.Email, membership.GetProperty("personEmail").GetString());
        Assert.Equal(bob.DisplayName, membership.GetProperty("personDisplayName").GetString());
        Assert.Equal(bob.OrgId, membership.GetProperty("personOrgId").GetString());
        Assert.False(membership.GetProperty("isModerator").GetBoolean());
        Assert.False(membership.GetProperty("isMonitor").GetBoolean());
        Assert.Equal("group", membership.GetProperty("roomType").GetString());
        Assert.EndsWith("Z", membership.GetProperty("created").GetString());

        using (var shared = await h.ApiAsync(HttpMethod.Get, room, bobToken))
        {
            Assert.Equal(HttpStatusCode.OK, shared.StatusCode);
        }

        using var bobPosts = await h.ApiAsync(HttpMethod.Post, "/v1/messages", bobToken, JsonContent.Create(new { roomId, text = "hi all" }));
        Assert.Equal(HttpStatusCode.OK, bobPosts.StatusCode);
        var bobsMessage = "/v1/messages/" + Uri.EscapeDataString((await Harness.JsonAsync(bobPosts)).GetProperty("id").GetString()!);
        using (var adaReads = await h.ApiAsync(HttpMethod.Get, bobsMessage, ada))
        {
            Assert.Equal(HttpStatusCode.OK, adaReads.StatusCode);
        }

        using (var adaDeletesBobs = await h.ApiAsync(HttpMethod.Delete, bobsMessage, ada))
        {
            await Harness.AssertWebexErrorAsync(adaDeletesBobs, HttpStatusCode.Forbidden);
        }

        using (var list = await h.ApiAsync(HttpMethod.Get, "/v1/memberships?roomId=" + Uri.EscapeDataString(roomId), ada))
        {
            var people = (await Harness.JsonAsync(list)).GetProperty("items").EnumerateArray().Select(m => m.GetProperty("personId").GetString()).ToList();
            Assert.Equal([h.State.Person.Id, bob.Id], people);
        }

        using (var filtered = await h.ApiAsync(HttpMethod.Get, $"/v1/memberships?roomId={Uri.EscapeDataString(roomId)}&personEmail={Uri.EscapeDataString(bob.Email)}", bobToken))
        {
            Assert.Equal(id, Assert.Single((await Harness.JsonAsync(filtered)).GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
        }

        using (var get = await h.ApiAsync(HttpMethod.Get, "/v1/memberships/" + Uri.EscapeDataString(id), bobToken))
        {
            Assert.Equal(membership.GetRawText(), (await Harness.JsonAsync(get)).GetRawText());
        }

        using (var outsider = await h.ApiAsync(HttpMethod.Get, "/v1/memberships/" + Uri.EscapeDataString(id), carolToken))
        {
            await Harness.AssertWebexErrorAsync(outsider, HttpStatusCode.NotFound);
        }

        using (var again = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", bobToken, JsonContent.Create(new { roomId, personId = bob.Id })))
        {
            await Harness.AssertWebexErrorAsync(again, HttpStatusCode.Conflict);
        }

        using (var outsiderAdds = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", carolToken, JsonContent.Create(new { roomId, personId = carol.Id })))
        {
            await Harness.AssertWebexErrorAsync(outsiderAdds, HttpStatusCode.NotFound);
        }

        using var removed = await h.ApiAsync(HttpMethod.Delete, "/v1/memberships/" + Uri.EscapeDataString(id), ada);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        using (var after = await h.ApiAsync(HttpMethod.Get, room, bobToken))
        {
            await Harness.AssertWebexErrorAsync(after, HttpStatusCode.NotFound);
        }

        using (var removedAgain = await h.ApiAsync(HttpMethod.Delete, "/v1/memberships/" + Uri.EscapeDataString(id), ada))
        {
            await Harness.AssertWebexErrorAsync(removedAgain, HttpStatusCode.NotFound);
        }

        using (var bobsOwn = await h.ApiAsync(HttpMethod.Get, "/v1/memberships", bobToken))
        {
            var rooms = (await Harness.JsonAsync(bobsOwn)).GetProperty("items").EnumerateArray().Select(m => m.GetProperty("roomId").GetString()).ToList();
            Assert.Equal(h.State.RoomIdsFor(bob.Id).Order(StringComparer.Ordinal), rooms.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Refusals()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var bob = h.State.People[1];
        var ada = await h.SignInForAccessTokenAsync();
        var group = h.State.RoomIds[1];
        var direct = h.State.RoomIds[4];

        using var toDirect = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", ada, JsonContent.Create(new { roomId = direct, personId = bob.Id }));
        using var unknownPerson = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", ada, JsonContent.Create(new { roomId = group, personEmail = "nobody@example.com" }));
        using var unknownRoom = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", ada, JsonContent.Create(new { roomId = h.State.RoomIdsFor(bob.Id)[1], personId = bob.Id }));
        using var listWithoutRoom = await h.ApiAsync(HttpMethod.Get, "/v1/memberships?personId=" + Uri.EscapeDataString(bob.Id), ada);
        using var listForeignRoom = await h.ApiAsync(HttpMethod.Get, "/v1/memberships?roomId=" + Uri.EscapeDataString(h.State.RoomIdsFor(bob.Id)[1]), ada);
        using var noToken = await h.ApiAsync(HttpMethod.Get, "/v1/memberships", null);

        await Harness.AssertWebexErrorAsync(toDirect, HttpStatusCode.Forbidden);
        await Harness.AssertWebexErrorAsync(unknownPerson, HttpStatusCode.NotFound);
        await Harness.AssertWebexErrorAsync(unknownRoom, HttpStatusCode.NotFound);
        await Harness.AssertWebexErrorAsync(listWithoutRoom, HttpStatusCode.BadRequest);
        await Harness.AssertWebexErrorAsync(listForeignRoom, HttpStatusCode.NotFound);
        await Harness.AssertWebexErrorAsync(noToken, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"personId":"P"}""")]
    [InlineData("""{"roomId":"ROOM"}""")]
    [InlineData("""{"roomId":"ROOM","personId":"P","personEmail":"a@example.com"}""")]
    [InlineData("""{"roomId":"ROOM","personId":42}""")]
    [InlineData("""{"roomId":"ROOM","personId":"P","isModerator":"yes"}""")]
    public async Task Create_InvalidBody_Is400(string body)
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var ada = await h.SignInForAccessTokenAsync();

        using var response = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", ada,
            new StringContent(body.Replace("ROOM", h.State.RoomIds[1]).Replace("\"P\"", $"\"{h.State.People[1].Id}\""), Encoding.UTF8, "application/json"));

        await Harness.AssertWebexErrorAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Pagination_FollowingLinkToTheEnd_SeesEveryMembershipOnce_WithTheFirstPagesFilter()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(11));
        var ada = await h.SignInForAccessTokenAsync();
        var roomId = h.State.RoomIds[0];
        foreach (var person in h.State.People.Skip(1))
        {
            using var added = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", ada, JsonContent.Create(new { roomId, personId = person.Id }));
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        var room = "/v1/memberships?roomId=" + Uri.EscapeDataString(roomId);
        using var whole = await h.ApiAsync(HttpMethod.Get, room + "&max=1000", ada);
        Assert.Null(Harness.NextLink(whole));
        var all = (await Harness.JsonAsync(whole)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!).ToList();
        Assert.True(all.Count > 10, $"{all.Count} members");

        var seen = new List<string>();
        var pages = new List<int>();
        var url = h.Url(room + "&max=4").ToString();
        for (var guard = 0; url is not null && guard < 10; guard++)
        {
            using var response = await h.ApiAsync(HttpMethod.Get, new Uri(url).PathAndQuery, ada);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var items = (await Harness.JsonAsync(response)).GetProperty("items").EnumerateArray().ToList();
            Assert.All(items, i => Assert.Equal(roomId, i.GetProperty("roomId").GetString()));
            pages.Add(items.Count);
            seen.AddRange(items.Select(i => i.GetProperty("id").GetString()!));
            url = Harness.NextLink(response);
            if (url is not null)
            {
                Assert.StartsWith($"{h.Emulator.BaseUrl.GetLeftPart(UriPartial.Authority)}/v1/memberships?max=4&cursor=", url);
            }
        }

        Assert.Equal(all, seen);
        Assert.All(pages.SkipLast(1), count => Assert.Equal(4, count));
        Assert.InRange(pages[^1], 1, 4);

        using var invalid = await h.ApiAsync(HttpMethod.Get, "/v1/memberships?cursor=not-a-cursor", ada);
        await Harness.AssertWebexErrorAsync(invalid, HttpStatusCode.BadRequest);
    }
}
