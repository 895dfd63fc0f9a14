using System.Net;
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

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")]
    private static partial Regex WebexDate();
}
