using System.Net;
using System.Text;

namespace Webex.Emulator.Tests;

public sealed class MessagesTests
{
    [Fact]
    public async Task PostThenListGetAndDelete()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var roomId = h.State.RoomIds[0]; // contains '/' and '+'

        using var first = await PostAsync(h, access, new { roomId, text = "hello" });
        using var second = await PostAsync(h, access, new { roomId, markdown = "**bold** move", text = "bold move" });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var message = await Harness.JsonAsync(first);
        var id = message.GetProperty("id").GetString()!;
        Assert.Equal(roomId, message.GetProperty("roomId").GetString());
        Assert.Equal("group", message.GetProperty("roomType").GetString());
        Assert.Equal("hello", message.GetProperty("text").GetString());
        Assert.Equal(new WebexEmulatorOptions().Person.Id, message.GetProperty("personId").GetString());
        Assert.Equal(new WebexEmulatorOptions().Person.Email, message.GetProperty("personEmail").GetString());
        Assert.EndsWith("Z", message.GetProperty("created").GetString());
        Assert.Equal("**bold** move", (await Harness.JsonAsync(second)).GetProperty("markdown").GetString());

        using var list = await h.ApiAsync(HttpMethod.Get, "/v1/messages?roomId=" + Uri.EscapeDataString(roomId), access);
        var items = (await Harness.JsonAsync(list)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("text").GetString()).ToList();
        Assert.Equal(["bold move", "hello"], items);

        using var get = await h.ApiAsync(HttpMethod.Get, "/v1/messages/" + Uri.EscapeDataString(id), access);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        using var delete = await h.ApiAsync(HttpMethod.Delete, "/v1/messages/" + Uri.EscapeDataString(id), access);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var gone = await h.ApiAsync(HttpMethod.Get, "/v1/messages/" + Uri.EscapeDataString(id), access);
        await Harness.AssertWebexErrorAsync(gone, HttpStatusCode.NotFound);
        using var deleteAgain = await h.ApiAsync(HttpMethod.Delete, "/v1/messages/" + Uri.EscapeDataString(id), access);
        await Harness.AssertWebexErrorAsync(deleteAgain, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task List_PaginatesNewestFirstThroughLink()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var roomId = h.State.RoomIds[2];
        for (var i = 0; i < 5; i++)
        {
            using var posted = await PostAsync(h, access, new { roomId, text = $"m{i}" });
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }

        var texts = new List<string>();
        var next = "/v1/messages?max=2&roomId=" + Uri.EscapeDataString(roomId);
        for (var guard = 0; next is not null && guard < 10; guard++)
        {
            using var page = await h.ApiAsync(HttpMethod.Get, next, access);
            texts.AddRange((await Harness.JsonAsync(page)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("text").GetString()!));
            next = page.Headers.TryGetValues("Link", out var link) ? new Uri(link.Single()[1..link.Single().IndexOf('>')]).PathAndQuery : null;
        }

        Assert.Equal(["m4", "m3", "m2", "m1", "m0"], texts);
    }

    [Fact]
    public async Task DirectMessageByEmail_CreatesADirectRoom()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var response = await PostAsync(h, access, new { toPersonEmail = "julie@example.com", text = "hi Julie" });
        using var again = await PostAsync(h, access, new { toPersonEmail = "julie@example.com", text = "hi again" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = await Harness.JsonAsync(response);
        Assert.Equal("direct", message.GetProperty("roomType").GetString());
        Assert.Equal("julie@example.com", message.GetProperty("toPersonEmail").GetString());
        Assert.Equal(message.GetProperty("roomId").GetString(), (await Harness.JsonAsync(again)).GetProperty("roomId").GetString());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("[1,2]")]
    [InlineData("""{"text":"no target"}""")]
    [InlineData("""{"roomId":"ROOM"}""")]
    [InlineData("""{"roomId":"ROOM","text":""}""")]
    [InlineData("""{"roomId":42,"text":"x"}""")]
    [InlineData("""{"roomId":"ROOM","toPersonEmail":"a@example.com","text":"x"}""")]
    [InlineData("""{"toPersonEmail":"not-an-email","text":"x"}""")]
    public async Task InvalidBody_Is400(string body)
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var response = await h.ApiAsync(
            HttpMethod.Post, "/v1/messages", access, new StringContent(body.Replace("ROOM", h.State.RoomIds[1]), Encoding.UTF8, "application/json"));

        await Harness.AssertWebexErrorAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task UnknownRoom_Is404()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var post = await PostAsync(h, access, new { roomId = "Y2lzY29zcGFyazovL3VzL1JPT00vbm9uZQ", text = "x" });
        using var list = await h.ApiAsync(HttpMethod.Get, "/v1/messages?roomId=Y2lzY29zcGFyazovL3VzL1JPT00vbm9uZQ", access);
        using var noRoom = await h.ApiAsync(HttpMethod.Get, "/v1/messages", access);

        await Harness.AssertWebexErrorAsync(post, HttpStatusCode.NotFound);
        await Harness.AssertWebexErrorAsync(list, HttpStatusCode.NotFound);
        await Harness.AssertWebexErrorAsync(noRoom, HttpStatusCode.BadRequest);
    }

    private static Task<HttpResponseMessage> PostAsync(Harness h, string access, object body) =>
        h.ApiAsync(HttpMethod.Post, "/v1/messages", access, System.Net.Http.Json.JsonContent.Create(body));
}
