using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Webex.Emulator.Tests;

public sealed class ContentsTests
{
    private static readonly byte[] Pdf = Encoding.ASCII.GetBytes("%PDF-1.4 a small report, 0123456789 abcdefghijklmnopqrstuvwxyz");

    [Fact]
    public async Task MultipartMessage_StoresTheFile_AndAnswersItsContentsUrl()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var roomId = h.State.RoomIds[0];

        using var posted = await PostFileAsync(h, access, roomId, Pdf, "report q1.pdf", "application/pdf", text: "the report");

        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var message = await Harness.JsonAsync(posted);
        Assert.Equal("the report", message.GetProperty("text").GetString());
        Assert.Equal(roomId, message.GetProperty("roomId").GetString());
        var url = Assert.Single(message.GetProperty("files").EnumerateArray()).GetString()!;
        Assert.StartsWith(h.Emulator.BaseUrl.GetLeftPart(UriPartial.Authority) + "/v1/contents/", url);
        var content = h.State.Content(ContentId(url));
        Assert.NotNull(content);
        Assert.Equal(("report q1.pdf", "application/pdf", Pdf.LongLength, roomId), (content.FileName, content.ContentType, content.Length, content.RoomId));

        using var get = await h.ApiAsync(HttpMethod.Get, new Uri(url).PathAndQuery, access);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(Pdf, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/pdf", get.Content.Headers.ContentType?.ToString());
        Assert.Equal(Pdf.LongLength, get.Content.Headers.ContentLength);
        Assert.Equal("attachment; filename=\"report q1.pdf\"", string.Join(",", get.Content.Headers.GetValues("Content-Disposition")));
        Assert.Equal($"\"{Convert.ToHexStringLower(SHA256.HashData(Pdf))}\"", get.Headers.ETag?.ToString());
        Assert.NotNull(get.Content.Headers.LastModified);

        using var head = await h.ApiAsync(HttpMethod.Head, new Uri(url).PathAndQuery, access);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(Pdf.LongLength, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        var id = message.GetProperty("id").GetString()!;
        using var again = await h.ApiAsync(HttpMethod.Get, "/v1/messages/" + Uri.EscapeDataString(id), access);
        Assert.Equal(url, (await Harness.JsonAsync(again)).GetProperty("files")[0].GetString());
    }

    [Fact]
    public async Task Contents_ServeOneRange_416BeyondTheEnd_And304ForTheETag()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var path = await UploadAsync(h, access, Pdf);

        using var range = await GetAsync(h, path, access, r => r.Headers.Range = new RangeHeaderValue(4, 9));
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(Pdf[4..10], await range.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes 4-9/{Pdf.Length}", range.Content.Headers.ContentRange?.ToString());

        using var suffix = await GetAsync(h, path, access, r => r.Headers.Range = new RangeHeaderValue(null, 5));
        Assert.Equal(Pdf[^5..], await suffix.Content.ReadAsByteArrayAsync());

        using var beyond = await GetAsync(h, path, access, r => r.Headers.Range = new RangeHeaderValue(Pdf.Length, null));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyond.StatusCode);
        Assert.Equal($"bytes */{Pdf.Length}", beyond.Content.Headers.ContentRange?.ToString());

        using var first = await GetAsync(h, path, access);
        var etag = first.Headers.ETag!;
        using var notModified = await GetAsync(h, path, access, r => r.Headers.IfNoneMatch.Add(etag));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(etag, notModified.Headers.ETag);
        using var otherTag = await GetAsync(h, path, access, r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"other\"")));
        Assert.Equal(HttpStatusCode.OK, otherTag.StatusCode);
    }

    [Fact]
    public async Task Contents_AreOnlyForMembersOfTheRoom()
    {
        await using var h = await Harness.StartAsync(o => o.AddGeneratedPeople(1));
        var access = await h.SignInForAccessTokenAsync();
        var other = await h.SignInForAccessTokenAsync(h.State.People[1].Email);
        var path = await UploadAsync(h, access, Pdf);

        using var stranger = await GetAsync(h, path, other);
        await Harness.AssertWebexErrorAsync(stranger, HttpStatusCode.NotFound);
        using var anonymous = await GetAsync(h, path, null);
        await Harness.AssertWebexErrorAsync(anonymous, HttpStatusCode.Unauthorized);
        using var unknown = await GetAsync(h, "/v1/contents/Y2lzY29zcGFyazovL3VzL0NPTlRFTlQvbm9uZS8w", access);
        await Harness.AssertWebexErrorAsync(unknown, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task LockedContent_Answers423WithRetryAfter_ThenTheFile()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var path = await UploadAsync(h, access, Pdf);
        h.State.LockContent(ContentId(path), times: 2, retryAfterSeconds: 3);

        for (var i = 0; i < 2; i++)
        {
            using var locked = await GetAsync(h, path, access);
            await Harness.AssertWebexErrorAsync(locked, HttpStatusCode.Locked);
            Assert.Equal(TimeSpan.FromSeconds(3), locked.Headers.RetryAfter?.Delta);
        }

        using var scanned = await GetAsync(h, path, access);
        Assert.Equal(Pdf, await scanned.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task UnscannableContent_Answers428_UnlessForceDownloaded()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var path = await UploadAsync(h, access, Pdf);
        h.State.SetUnscannable(ContentId(path));

        using var refused = await GetAsync(h, path, access);
        await Harness.AssertWebexErrorAsync(refused, HttpStatusCode.PreconditionRequired);
        using var forced = await GetAsync(h, path + "?allow=unscannable", access);
        Assert.Equal(Pdf, await forced.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task MultipartMessage_IsValidatedLikeJson_AndKeepsNoFileOnError()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        using var noTarget = await PostFileAsync(h, access, roomId: null, Pdf, "a.pdf", "application/pdf");
        var error = await Harness.AssertWebexErrorAsync(noTarget, HttpStatusCode.BadRequest);
        Assert.Contains("roomId", error.GetProperty("errors")[0].GetProperty("description").GetString());

        using var twoFiles = new MultipartFormDataContent
        {
            { new StringContent(h.State.RoomIds[0]), "roomId" },
            { new ByteArrayContent(Pdf), "files", "a.pdf" },
            { new ByteArrayContent(Pdf), "files", "b.pdf" },
        };
        using var refused = await h.ApiAsync(HttpMethod.Post, "/v1/messages", access, twoFiles);
        await Harness.AssertWebexErrorAsync(refused, HttpStatusCode.BadRequest);

        using var textOnly = new MultipartFormDataContent { { new StringContent(h.State.RoomIds[0]), "roomId" }, { new StringContent("no file"), "markdown" } };
        using var posted = await h.ApiAsync(HttpMethod.Post, "/v1/messages", access, textOnly);
        var message = await Harness.JsonAsync(posted);
        Assert.Equal("no file", message.GetProperty("markdown").GetString());
        Assert.False(message.TryGetProperty("files", out _));
    }

    [Fact]
    public async Task HundredMegabyteFile_IsAcceptedAndServedWhole_AndALargerOneIs413()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        h.State.RecordRequests = false;
        var bytes = new byte[100 * 1024 * 1024];
        new Random(7).NextBytes(bytes);

        var path = await UploadAsync(h, access, bytes, "video/mp4");

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), h.State.Content(ContentId(path))!.Sha256);
        using var get = await h.Http.SendAsync(Request(h, HttpMethod.Get, path, access), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(bytes.LongLength, get.Content.Headers.ContentLength);
        await using (var body = await get.Content.ReadAsStreamAsync())
        {
            Assert.Equal(SHA256.HashData(bytes), await SHA256.HashDataAsync(body));
        }

        var tooLarge = new byte[bytes.Length + 1];
        using var refused = await PostFileAsync(h, access, h.State.RoomIds[0], tooLarge, "big.bin", "application/octet-stream");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
    }

    [Fact]
    public async Task RecordedUpload_KeepsSmallBodies_AndTheSizeOfLargeOnes()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();

        await UploadAsync(h, access, Pdf);
        await UploadAsync(h, access, new byte[2 * 1024 * 1024]);

        var uploads = h.State.Requests.Where(r => r.Method == "POST").ToList();
        Assert.Equal(2, uploads.Count);
        Assert.Contains("%PDF-1.4 a small report", Encoding.ASCII.GetString(uploads[0].Body));
        Assert.Equal(uploads[0].Body.LongLength, uploads[0].BodyLength);
        Assert.Empty(uploads[1].Body);
        Assert.True(uploads[1].BodyLength > 2 * 1024 * 1024);
    }

    internal static string ContentId(string url) => Uri.UnescapeDataString(url[(url.LastIndexOf('/') + 1)..].Split('?')[0]);

    private static async Task<string> UploadAsync(Harness h, string access, byte[] bytes, string contentType = "application/pdf")
    {
        using var posted = await PostFileAsync(h, access, h.State.RoomIds[0], bytes, "file.bin", contentType);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        return new Uri((await Harness.JsonAsync(posted)).GetProperty("files")[0].GetString()!).AbsolutePath;
    }

    private static Task<HttpResponseMessage> PostFileAsync(
        Harness h, string access, string? roomId, byte[] bytes, string fileName, string contentType, string? text = null)
    {
        var form = new MultipartFormDataContent();
        if (roomId is not null)
        {
            form.Add(new StringContent(roomId), "roomId");
        }

        if (text is not null)
        {
            form.Add(new StringContent(text), "text");
        }

        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        form.Add(file, "files", fileName);
        return h.ApiAsync(HttpMethod.Post, "/v1/messages", access, form);
    }

    private static HttpRequestMessage Request(Harness h, HttpMethod method, string path, string? access)
    {
        var request = new HttpRequestMessage(method, h.Url(path));
        if (access is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", access);
        }

        return request;
    }

    private static Task<HttpResponseMessage> GetAsync(Harness h, string path, string? access, Action<HttpRequestMessage>? configure = null)
    {
        var request = Request(h, HttpMethod.Get, path, access);
        configure?.Invoke(request);
        return h.Http.SendAsync(request);
    }
}
