using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using WebexGateway.Proxy;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Proxy;

/// <summary>The <c>files</c> URLs of messages answers point at the gateway; nothing else in the body changes.</summary>
[Collection(GatewayCollection.Name)]
public sealed class MessageFilesTests(RedisFixture redis, ITestOutputHelper output)
{
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    [Fact]
    public async Task List_get_and_create_answers_point_files_at_the_gateway_and_keep_every_other_byte()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var roomId = world.Webex.RoomIds[0];
        var apiUrl = world.Emulator.BaseUrl.GetLeftPart(UriPartial.Authority);
        await ContentsTests.UploadAsync(world, Png, "dot.png", "image/png");
        using (var elsewhere = await DirectAsync(world, HttpMethod.Post, "/v1/messages", JsonContent($$"""{"roomId":"{{roomId}}","text":"files elsewhere \"{{apiUrl}}/v1/contents/x\"","files":["https://files.example/a.png"]}""")))
        {
            Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
        }

        // Create, through the gateway.
        using var form = new MultipartFormDataContent { { new StringContent(roomId), "roomId" }, { new StringContent("a picture"), "text" } };
        var file = new ByteArrayContent(Png);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "files", "picture.png");
        var created = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), form);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var createdBody = await created.Content.ReadAsByteArrayAsync();
        Assert.Equal(createdBody.LongLength, created.Content.Headers.ContentLength);
        using var createdJson = JsonDocument.Parse(createdBody);
        var contentsPath = createdJson.RootElement.GetProperty("files")[0].GetString()!;
        Assert.StartsWith("/webex/v1/contents/", contentsPath);
        var messageId = createdJson.RootElement.GetProperty("id").GetString()!;

        // The rewritten URL is the file, through the gateway.
        var picture = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, contentsPath), csrf: false, headers: h => h.Add("Sec-Fetch-Site", "same-origin"));
        Assert.Equal(Png, await picture.Content.ReadAsByteArrayAsync());

        foreach (var target in new[] { $"/v1/messages?roomId={Uri.EscapeDataString(roomId)}", $"/v1/messages/{Uri.EscapeDataString(messageId)}" })
        {
            var throughGateway = await browser.GetAsync(new Uri(gateway.Address, "/webex" + target), csrf: true);
            using var direct = await DirectAsync(world, HttpMethod.Get, target);
            var webexBody = await direct.Content.ReadAsStringAsync();
            Assert.Contains($"\"{apiUrl}/v1/contents/", webexBody);

            var body = await throughGateway.Content.ReadAsByteArrayAsync();
            var expected = Encoding.UTF8.GetBytes(webexBody.Replace($"\"{apiUrl}/v1/contents/", "\"/webex/v1/contents/", StringComparison.Ordinal));
            Assert.Equal(expected, body);
            Assert.Equal(body.LongLength, throughGateway.Content.Headers.ContentLength);
        }

        // The list held a text quoting a contents URL and a file elsewhere: both came through as Webex wrote them.
        var list = await (await browser.GetAsync(new Uri(gateway.Address, $"/webex/v1/messages?roomId={Uri.EscapeDataString(roomId)}"), csrf: true)).Content.ReadAsStringAsync();
        Assert.Contains($"files elsewhere \\u0022{apiUrl}/v1/contents/x\\u0022", list, StringComparison.Ordinal);
        Assert.Contains("\"https://files.example/a.png\"", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_answer_above_the_limit_passes_as_webex_sent_it_and_is_logged()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var roomId = world.Webex.RoomIds[1];
        await ContentsTests.UploadAsync(world, Png, "dot.png", "image/png", roomId);
        var text = new string('x', 7400);
        for (var i = 0; i < 150; i++)
        {
            using var posted = await DirectAsync(world, HttpMethod.Post, "/v1/messages", JsonContent($$"""{"roomId":"{{roomId}}","text":"{{text}}"}"""));
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }

        var target = $"/v1/messages?max=200&roomId={Uri.EscapeDataString(roomId)}";
        var throughGateway = await browser.GetAsync(new Uri(gateway.Address, "/webex" + target), csrf: true);
        using var direct = await DirectAsync(world, HttpMethod.Get, target);

        var body = await throughGateway.Content.ReadAsByteArrayAsync();
        Assert.True(body.Length > MessageFiles.MaxRewrittenBytes);
        Assert.Equal(await direct.Content.ReadAsByteArrayAsync(), body);
        Assert.Contains(gateway.Logs, line => line.Contains($"is above {MessageFiles.MaxRewrittenBytes} bytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Only_strings_of_files_arrays_under_the_api_url_change_and_escapes_elsewhere_stay()
    {
        const string Api = "https://webexapis.com";
        var json = """
            {"items":[ {"files":["https:\/\/webexapis.com\/v1\/contents\/Y2lz+ab%2F", "https://files.example/x", "https://webexapis.comevil/v1/contents/z"],
             "text":"\u00e9 \"https://webexapis.com/v1/contents/t\"", "nested":{"files":"https://webexapis.com/v1/contents/not-an-array"},
             "other":["https://webexapis.com/v1/contents/not-files"], "files2":["https://webexapis.com/v1/contents/n"]} ], "files":[{"url":"https://webexapis.com/v1/contents/deep"}]}
            """;

        var rewritten = MessageFiles.Rewrite(Encoding.UTF8.GetBytes(json), Api, "/webex");

        Assert.NotNull(rewritten);
        Assert.Equal(json.Replace("\"https:\\/\\/webexapis.com\\/v1\\/contents\\/Y2lz+ab%2F\"", "\"/webex/v1/contents/Y2lz+ab%2F\"", StringComparison.Ordinal), Encoding.UTF8.GetString(rewritten));
        Assert.Null(MessageFiles.Rewrite("""{"items":[{"files":["https://files.example/x"]}]}"""u8, Api, "/webex"));
        Assert.Null(MessageFiles.Rewrite("""{"files":["https://webexapis.com/v1/contents/a" """u8, Api, "/webex"));
    }

    [Fact]
    public void Deciding_that_a_call_is_neither_a_file_nor_a_messages_answer_allocates_nothing()
    {
        var path = new UpstreamPath("/webex", "");
        var calls = new[] { ("GET", "/webex/v1/people/me"), ("POST", "/webex/v1/rooms"), ("GET", "/webex/v1/messages/a/b"), ("DELETE", "/webex/v1/messages/a") }
            .Select(c => new Microsoft.AspNetCore.Http.DefaultHttpContext { Request = { Method = c.Item1, Path = c.Item2 } })
            .ToArray();
        var decided = 0;
        for (var warmUp = 0; warmUp < 2; warmUp++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                foreach (var context in calls)
                {
                    decided += MessageFiles.IsMessagesCall(context, path) || ContentsDownload.IsContents(context, path) ? 1 : 0;
                }
            }

            if (warmUp == 1)
            {
                Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            }
        }

        Assert.Equal(0, decided);
        var list = new Microsoft.AspNetCore.Http.DefaultHttpContext { Request = { Method = "GET", Path = "/webex/v1/messages" } };
        var file = new Microsoft.AspNetCore.Http.DefaultHttpContext { Request = { Method = "GET", Path = "/webex/v1/contents/abc" } };
        Assert.True(MessageFiles.IsMessagesCall(list, path));
        Assert.True(ContentsDownload.IsContents(file, path));
        Assert.True(MessageFiles.IsMessagesCall(new Microsoft.AspNetCore.Http.DefaultHttpContext { Request = { Method = "GET", Path = "/bots/b/v1/messages/x" } }, new UpstreamPath("/bots/b/v1/messages", "/v1/messages")));
    }

    private static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<HttpResponseMessage> DirectAsync(TestWorld world, HttpMethod method, string target, HttpContent? content = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(method, new Uri(world.Emulator.BaseUrl, target)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", world.Webex.LastAccessTokenFor(world.Person.Id));
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
