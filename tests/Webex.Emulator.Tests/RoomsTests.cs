using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Webex.Emulator.Tests;

public sealed partial class RoomsTests
{
    [Theory]
    [InlineData("")]
    [InlineData("&sortBy=id")]
    [InlineData("&sortBy=created")]
    public async Task Pagination_FollowingLinkToTheEnd_SeesEveryRoomOnce(string sort)
    {
        await using var h = await Harness.StartAsync(o => o.RoomCount = 25);
        var access = await h.SignInForAccessTokenAsync();
        var seen = new List<string>();
        var pages = new List<int>();
        var url = h.Url("/v1/rooms?max=7" + sort).ToString();

        for (var guard = 0; url is not null && guard < 10; guard++)
        {
            using var response = await h.ApiAsync(HttpMethod.Get, new Uri(url).PathAndQuery, access);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var items = (await Harness.JsonAsync(response)).GetProperty("items").EnumerateArray().ToList();
            pages.Add(items.Count);
            seen.AddRange(items.Select(i => i.GetProperty("id").GetString()!));
            url = Harness.NextLink(response);
            if (url is not null)
            {
                Assert.StartsWith($"{h.Emulator.BaseUrl.GetLeftPart(UriPartial.Authority)}/v1/rooms?max=7&cursor=", url);
            }
        }

        Assert.Equal([7, 7, 7, 4], pages);
        Assert.Equal(25, seen.Distinct().Count());
        Assert.Equal(h.State.RoomIds.Order(), seen.Order());
    }

    [Fact]
    public async Task DefaultMaxIs100_AndNoLinkWhenEverythingFits()
    {
        await using var h = await Harness.StartAsync(o => o.RoomCount = 120);
        var access = await h.SignInForAccessTokenAsync();

        using var first = await h.ApiAsync(HttpMethod.Get, "/v1/rooms", access);
        using var all = await h.ApiAsync(HttpMethod.Get, "/v1/rooms?max=1000", access);

        Assert.Equal(100, (await Harness.JsonAsync(first)).GetProperty("items").GetArrayLength());
        Assert.NotNull(Harness.NextLink(first));
        Assert.Equal(120, (await Harness.JsonAsync(all)).GetProperty("items").GetArrayLength());
        Assert.Null(Harness.NextLink(all));
    }

    [Fact]
    public async Task TypeFilter_ReturnsOnlyThatType()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var direct = await h.ApiAsync(HttpMethod.Get, "/v1/rooms?type=direct&sortBy=lastactivity", access);

        var items = (await Harness.JsonAsync(direct)).GetProperty("items").EnumerateArray().ToList();
        Assert.NotEmpty(items);
        Assert.All(items, i => Assert.Equal("direct", i.GetProperty("type").GetString()));
    }

    [Theory]
    [InlineData("max=0")]
    [InlineData("max=-1")]
    [InlineData("max=1001")]
    [InlineData("max=abc")]
    [InlineData("max=1.5")]
    [InlineData("max=")]
    [InlineData("cursor=garbage")]
    [InlineData("sortBy=title")]
    [InlineData("type=team")]
    public async Task InvalidQuery_Is400(string query)
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var response = await h.ApiAsync(HttpMethod.Get, "/v1/rooms?" + query, access);

        await Harness.AssertWebexErrorAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task SeededRoomIdWithSlashAndPlus_IsFoundThroughAPercentEncodedPath()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var id = h.State.RoomIds.First(i => i.Contains('/') && i.Contains('+'));
        var path = "/v1/rooms/" + Uri.EscapeDataString(id);

        using var response = await h.ApiAsync(HttpMethod.Get, path, access);
        using var unencoded = await h.ApiAsync(HttpMethod.Get, "/v1/rooms/" + id.Replace("+", "%2B"), access);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var room = await Harness.JsonAsync(response);
        Assert.Equal(id, room.GetProperty("id").GetString());
        Assert.Equal(path, h.State.Requests[^2].RawTarget);
        Assert.Contains("%2F", h.State.Requests[^2].RawTarget);
        Assert.Contains("%2B", h.State.Requests[^2].RawTarget);
        await Harness.AssertWebexErrorAsync(unencoded, HttpStatusCode.NotFound); // a literal '/' splits the path
    }

    [Fact]
    public async Task Room_HasTheWebexShape_UnknownRoomIs404()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var response = await h.ApiAsync(HttpMethod.Get, "/v1/rooms/" + Uri.EscapeDataString(h.State.RoomIds[1]), access);
        using var missing = await h.ApiAsync(HttpMethod.Get, "/v1/rooms/Y2lzY29zcGFyazovL3VzL1JPT00vbm9uZQ", access);

        var room = await Harness.JsonAsync(response);
        foreach (var name in new[] { "id", "title", "type", "lastActivity", "creatorId", "created", "ownerId" })
        {
            Assert.Equal(JsonValueKind.String, room.GetProperty(name).ValueKind);
        }

        Assert.Matches(WebexDate(), room.GetProperty("created").GetString()!);
        Assert.Equal(JsonValueKind.False, room.GetProperty("isReadOnly").ValueKind);
        await Harness.AssertWebexErrorAsync(missing, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task RoomIds_AreTheSeededRoomsAndTheSameOnEveryStart()
    {
        await using var a = await Harness.StartAsync(o => o.RoomCount = 12);
        await using var b = await Harness.StartAsync(o => o.RoomCount = 12);

        Assert.Equal(12, a.State.RoomIds.Count);
        Assert.Equal(12, a.State.RoomIds.Distinct().Count());
        Assert.Equal(a.State.RoomIds, b.State.RoomIds);
    }

    [Fact]
    public async Task Create_Get_Update_AsWebex_WithTheCreatorItsOnlyMember()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var ada = await h.SignInForAccessTokenAsync();
        var bob = await h.SignInForAccessTokenAsync(h.State.People[1].Email);

        using var created = await h.ApiAsync(HttpMethod.Post, "/v1/rooms", ada, JsonContent.Create(new { title = "Project Unicorn" }));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var room = await Harness.JsonAsync(created);
        var id = room.GetProperty("id").GetString()!;
        var path = "/v1/rooms/" + Uri.EscapeDataString(id);
        Assert.Equal("Project Unicorn", room.GetProperty("title").GetString());
        Assert.Equal("group", room.GetProperty("type").GetString());
        Assert.False(room.GetProperty("isLocked").GetBoolean());
        Assert.Equal(h.State.Person.Id, room.GetProperty("creatorId").GetString());
        Assert.Matches(WebexDate(), room.GetProperty("created").GetString()!);

        using (var got = await h.ApiAsync(HttpMethod.Get, path, ada))
        {
            Assert.Equal(room.GetRawText(), (await Harness.JsonAsync(got)).GetRawText());
        }

        using (var members = await h.ApiAsync(HttpMethod.Get, "/v1/memberships?roomId=" + Uri.EscapeDataString(id), ada))
        {
            var member = Assert.Single((await Harness.JsonAsync(members)).GetProperty("items").EnumerateArray());
            Assert.Equal(h.State.Person.Id, member.GetProperty("personId").GetString());
            Assert.False(member.GetProperty("isModerator").GetBoolean());
        }

        using (var notBobs = await h.ApiAsync(HttpMethod.Get, path, bob))
        {
            await Harness.AssertWebexErrorAsync(notBobs, HttpStatusCode.NotFound);
        }

        using var updated = await h.ApiAsync(HttpMethod.Put, path, ada, JsonContent.Create(new { title = "Project Unicorn - Sprint 1", description = "Sprint 1" }));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var after = await Harness.JsonAsync(updated);
        Assert.Equal("Project Unicorn - Sprint 1", after.GetProperty("title").GetString());
        Assert.Equal("Sprint 1", after.GetProperty("description").GetString());
        Assert.Equal(room.GetProperty("created").GetString(), after.GetProperty("created").GetString());
        using (var bobUpdates = await h.ApiAsync(HttpMethod.Put, path, bob, JsonContent.Create(new { title = "Bob's" })))
        {
            await Harness.AssertWebexErrorAsync(bobUpdates, HttpStatusCode.NotFound);
        }

        using var list = await h.ApiAsync(HttpMethod.Get, "/v1/rooms?max=1000", ada);
        var listed = (await Harness.JsonAsync(list)).GetProperty("items").EnumerateArray().Single(r => r.GetProperty("id").GetString() == id);
        Assert.Equal(after.GetRawText(), listed.GetRawText());
    }

    [Fact]
    public async Task ALockedRoom_IsChangedByItsModeratorsOnly()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var bob = h.State.People[1];
        var ada = await h.SignInForAccessTokenAsync();
        var bobToken = await h.SignInForAccessTokenAsync(bob.Email);
        using var created = await h.ApiAsync(HttpMethod.Post, "/v1/rooms", ada, JsonContent.Create(new { title = "Moderated", isLocked = true }));
        var id = (await Harness.JsonAsync(created)).GetProperty("id").GetString()!;
        using var added = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", ada, JsonContent.Create(new { roomId = id, personId = bob.Id }));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);

        using var byBob = await h.ApiAsync(HttpMethod.Put, "/v1/rooms/" + Uri.EscapeDataString(id), bobToken, JsonContent.Create(new { title = "Bob's" }));
        using var byAda = await h.ApiAsync(HttpMethod.Put, "/v1/rooms/" + Uri.EscapeDataString(id), ada, JsonContent.Create(new { title = "Still moderated" }));

        await Harness.AssertWebexErrorAsync(byBob, HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, byAda.StatusCode);
        Assert.Equal("Still moderated", (await Harness.JsonAsync(byAda)).GetProperty("title").GetString());
    }

    /// <remarks>
    /// Webex's DELETE /rooms/{roomId}: 204; the room, its memberships and its messages are gone for every member (404
    /// after). A member who does not moderate a locked room only leaves it, against accidental deletion; a room that is
    /// not the caller's is 404 and is not touched.
    /// </remarks>
    [Fact]
    public async Task Delete_EndsTheRoomForEveryMember_ButANonModeratorOfALockedRoomOnlyLeavesIt()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(2));
        var bob = h.State.People[1];
        var carol = h.State.People[2];
        var ada = await h.SignInForAccessTokenAsync();
        var bobToken = await h.SignInForAccessTokenAsync(bob.Email);
        var carolToken = await h.SignInForAccessTokenAsync(carol.Email);

        async Task<(string Id, string Path)> RoomWithBobAsync(bool locked)
        {
            using var created = await h.ApiAsync(HttpMethod.Post, "/v1/rooms", ada, JsonContent.Create(new { title = "To delete", isLocked = locked }));
            var id = (await Harness.JsonAsync(created)).GetProperty("id").GetString()!;
            using var added = await h.ApiAsync(HttpMethod.Post, "/v1/memberships", ada, JsonContent.Create(new { roomId = id, personId = bob.Id }));
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
            using var said = await h.ApiAsync(HttpMethod.Post, "/v1/messages", bobToken, JsonContent.Create(new { roomId = id, text = "hello" }));
            Assert.Equal(HttpStatusCode.OK, said.StatusCode);
            return (id, "/v1/rooms/" + Uri.EscapeDataString(id));
        }

        var (openId, open) = await RoomWithBobAsync(locked: false);
        using (var byCarol = await h.ApiAsync(HttpMethod.Delete, open, carolToken))
        {
            await Harness.AssertWebexErrorAsync(byCarol, HttpStatusCode.NotFound);
        }

        using (var byBob = await h.ApiAsync(HttpMethod.Delete, open, bobToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, byBob.StatusCode);
        }

        foreach (var token in new[] { ada, bobToken })
        {
            using var get = await h.ApiAsync(HttpMethod.Get, open, token);
            await Harness.AssertWebexErrorAsync(get, HttpStatusCode.NotFound);
            using var messages = await h.ApiAsync(HttpMethod.Get, "/v1/messages?roomId=" + Uri.EscapeDataString(openId), token);
            await Harness.AssertWebexErrorAsync(messages, HttpStatusCode.NotFound);
        }

        var (_, locked) = await RoomWithBobAsync(locked: true);
        using (var byBob = await h.ApiAsync(HttpMethod.Delete, locked, bobToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, byBob.StatusCode);
        }

        using (var forBob = await h.ApiAsync(HttpMethod.Get, locked, bobToken))
        {
            await Harness.AssertWebexErrorAsync(forBob, HttpStatusCode.NotFound);
        }

        using (var forAda = await h.ApiAsync(HttpMethod.Get, locked, ada))
        {
            Assert.Equal(HttpStatusCode.OK, forAda.StatusCode);
        }

        using (var byAda = await h.ApiAsync(HttpMethod.Delete, locked, ada))
        {
            Assert.Equal(HttpStatusCode.NoContent, byAda.StatusCode);
        }

        using (var gone = await h.ApiAsync(HttpMethod.Get, locked, ada))
        {
            await Harness.AssertWebexErrorAsync(gone, HttpStatusCode.NotFound);
        }
    }

    [Theory]
    [InlineData("{}", HttpStatusCode.BadRequest)]
    [InlineData("""{"title":""}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"title":7}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"title":"x","isLocked":"yes"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"title":"x","isPublic":true}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"title":"x","classificationId":"none"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"title":"x","isReadOnly":true}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"title":"x","teamId":"none"}""", HttpStatusCode.NotFound)]
    [InlineData("[]", HttpStatusCode.BadRequest)]
    [InlineData("not json", HttpStatusCode.BadRequest)]
    public async Task Create_And_Update_WithAnInvalidBody_AreRefused_AndChangeNothing(string body, HttpStatusCode status)
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var path = "/v1/rooms/" + Uri.EscapeDataString(h.State.RoomIds[1]);
        using var before = await h.ApiAsync(HttpMethod.Get, path, access);
        var room = (await Harness.JsonAsync(before)).GetRawText();

        using var create = await h.ApiAsync(HttpMethod.Post, "/v1/rooms", access, new StringContent(body, Encoding.UTF8, "application/json"));
        using var update = await h.ApiAsync(HttpMethod.Put, path, access, new StringContent(body, Encoding.UTF8, "application/json"));

        await Harness.AssertWebexErrorAsync(create, status);
        await Harness.AssertWebexErrorAsync(update, status);
        using var after = await h.ApiAsync(HttpMethod.Get, path, access);
        Assert.Equal(room, (await Harness.JsonAsync(after)).GetRawText());
        using var list = await h.ApiAsync(HttpMethod.Get, "/v1/rooms?max=1000", access);
        Assert.Equal(h.State.RoomIds.Count, (await Harness.JsonAsync(list)).GetProperty("items").GetArrayLength());
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")]
    private static partial Regex WebexDate();
}
