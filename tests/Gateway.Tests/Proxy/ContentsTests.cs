using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Proxy;

/// <summary>Files of messages through <c>/webex/v1/contents/{id}</c>: same-origin downloads, the security headers, pass-through.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ContentsTests(RedisFixture redis, ITestOutputHelper output)
{
    private static readonly byte[] Html = Encoding.UTF8.GetBytes("<!doctype html><html><body><script>fetch('/auth/user').then(r => r.text()).then(alert)</script></body></html>");
    private static readonly byte[] Svg = Encoding.UTF8.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(document.cookie)\"><script>alert(1)</script></svg>");

    // A 1x1 transparent PNG.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    [Theory]
    [InlineData("page.html", "text/html")]
    [InlineData("drawing.svg", "image/svg+xml")]
    public async Task Html_and_svg_files_download_as_sandboxed_attachments_without_csrf_from_the_gateways_pages(string fileName, string type)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var bytes = type == "text/html" ? Html : Svg;
        var path = await UploadAsync(world, bytes, fileName, type);

        var response = await DownloadAsync(browser, gateway, path, "same-origin");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"attachment; filename=\"{fileName}\"", Single(response, "Content-Disposition"));
        Assert.Equal("sandbox", Single(response, "Content-Security-Policy"));
        Assert.Equal("nosniff", Single(response, "X-Content-Type-Options"));
    }

    [Fact]
    public async Task An_image_displays_inline_and_keeps_its_name_and_the_sandbox()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var path = await UploadAsync(world, Png, "dot.png", "image/png");

        foreach (var site in new[] { "same-origin", "none" })
        {
            var response = await DownloadAsync(browser, gateway, path, site);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Png, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("inline; filename=\"dot.png\"", Single(response, "Content-Disposition"));
            Assert.Equal("sandbox", Single(response, "Content-Security-Policy"));
            Assert.Equal("nosniff", Single(response, "X-Content-Type-Options"));
        }
    }

    [Theory]
    [InlineData("cross-site")]
    [InlineData("same-site")]
    [InlineData(null)]
    public async Task Without_csrf_a_download_not_from_the_gateways_pages_is_403_and_never_reaches_webex(string? site)
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var path = await UploadAsync(world, Png, "dot.png", "image/png");
        world.Webex.Reset();

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
        {
            var response = await browser.SendAsync(method, new Uri(gateway.Address, "/webex" + path), csrf: false, headers: h => AddSite(h, site));

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            if (method == HttpMethod.Get)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                Assert.Equal("csrf_header_required", json.RootElement.GetProperty("error").GetString());
            }
        }

        Assert.Empty(world.Webex.Requests);

        // With X-CSRF (a script of an allowed origin), the same download goes through.
        var withCsrf = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/webex" + path), csrf: true, headers: h => AddSite(h, site));
        Assert.Equal(Png, await withCsrf.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Ranges_conditional_requests_and_head_pass_through()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var bytes = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 200).Select(i => i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture))));
        var path = await UploadAsync(world, bytes, "numbers.txt", "text/plain");

        var whole = await DownloadAsync(browser, gateway, path, "same-origin");
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal(bytes.LongLength, whole.Content.Headers.ContentLength);
        Assert.NotNull(whole.Content.Headers.LastModified);
        Assert.Equal("inline; filename=\"numbers.txt\"", Single(whole, "Content-Disposition"));
        var etag = whole.Headers.ETag!;

        var range = await DownloadAsync(browser, gateway, path, "same-origin", h => h.Range = new RangeHeaderValue(100, 119));
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(bytes[100..120], await range.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes 100-119/{bytes.Length}", range.Content.Headers.ContentRange?.ToString());
        Assert.Equal("sandbox", Single(range, "Content-Security-Policy"));

        var notModified = await DownloadAsync(browser, gateway, path, "same-origin", h => h.IfNoneMatch.Add(etag));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(etag, notModified.Headers.ETag);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        var head = await browser.SendAsync(HttpMethod.Head, new Uri(gateway.Address, "/webex" + path), csrf: false, headers: h => AddSite(h, "same-origin"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(bytes.LongLength, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        var received = world.Webex.Requests.Where(r => r.RawTarget == path).ToList();
        Assert.Contains(received, r => r.Headers.TryGetValue("Range", out var value) && value == "bytes=100-119");
        Assert.Contains(received, r => r.Headers.TryGetValue("If-None-Match", out var value) && value == etag.ToString());
    }

    [Fact]
    public async Task A_file_being_scanned_is_423_with_retry_after_and_an_unscannable_one_428_until_forced()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        var path = await UploadAsync(world, Png, "dot.png", "image/png");
        var id = Uri.UnescapeDataString(path["/v1/contents/".Length..]);
        world.Webex.LockContent(id, times: 1, retryAfterSeconds: 7);

        var locked = await DownloadAsync(browser, gateway, path, "same-origin");
        Assert.Equal(HttpStatusCode.Locked, locked.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), locked.Headers.RetryAfter?.Delta);
        Assert.True(locked.Headers.Contains("TrackingID"));
        Assert.Equal("sandbox", Single(locked, "Content-Security-Policy"));
        var scanned = await DownloadAsync(browser, gateway, path, "same-origin");
        Assert.Equal(Png, await scanned.Content.ReadAsByteArrayAsync());

        world.Webex.SetUnscannable(id);
        var unscannable = await DownloadAsync(browser, gateway, path, "same-origin");
        Assert.Equal((HttpStatusCode)428, unscannable.StatusCode);
        using (var json = JsonDocument.Parse(await unscannable.Content.ReadAsStringAsync()))
        {
            Assert.Contains("force downloaded", json.RootElement.GetProperty("message").GetString());
        }

        var forced = await DownloadAsync(browser, gateway, path + "?allow=unscannable", "same-origin");
        Assert.Equal(Png, await forced.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Other_calls_keep_requiring_csrf_even_from_the_gateways_pages()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync();
        world.Webex.Reset();

        var me = await browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/webex/v1/people/me"), csrf: false, headers: h => AddSite(h, "same-origin"));
        var post = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), Browser.Json("{}"), csrf: false, headers: h => AddSite(h, "same-origin"));
        var delete = await browser.SendAsync(HttpMethod.Delete, new Uri(gateway.Address, "/webex/v1/contents/abc"), csrf: false, headers: h => AddSite(h, "same-origin"));

        Assert.Equal(HttpStatusCode.Forbidden, me.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Empty(world.Webex.Requests);
    }

    /// <summary>Posts a message with the file straight to Webex (the emulator) as the signed-in person; returns the file's Webex path.</summary>
    internal static async Task<string> UploadAsync(TestWorld world, byte[] bytes, string fileName, string type, string? roomId = null)
    {
        using var http = new HttpClient();
        using var form = new MultipartFormDataContent { { new StringContent(roomId ?? world.Webex.RoomIds[0]), "roomId" } };
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        form.Add(file, "files", fileName);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(world.Emulator.BaseUrl, "/v1/messages")) { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", world.Webex.LastAccessTokenFor(world.Person.Id));
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return new Uri(json.RootElement.GetProperty("files")[0].GetString()!).AbsolutePath;
    }

    private static Task<HttpResponseMessage> DownloadAsync(Browser browser, GatewayHost gateway, string path, string site, Action<HttpRequestHeaders>? headers = null) =>
        browser.SendAsync(HttpMethod.Get, new Uri(gateway.Address, "/webex" + path), csrf: false, headers: h =>
        {
            AddSite(h, site);
            headers?.Invoke(h);
        });

    private static void AddSite(HttpRequestHeaders headers, string? site)
    {
        if (site is not null)
        {
            headers.Add("Sec-Fetch-Site", site);
        }
    }

    private static string Single(HttpResponseMessage response, string name) =>
        string.Join(" | ", response.Headers.TryGetValues(name, out var values) ? values : response.Content.Headers.GetValues(name));
}
