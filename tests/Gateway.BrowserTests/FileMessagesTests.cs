using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Playwright;
using WebexGateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using static WebexGateway.BrowserTests.DemoPage;

namespace WebexGateway.BrowserTests;

/// <summary>
/// Files in the demo app: sent through its file picker to the emulator (multipart through the gateway), shown back in
/// the room's messages, an image inline and anything else as a download link, read through <c>/webex/v1/contents</c>.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class FileMessagesTests(RedisFixture redis, ChromiumFixture chromium)
{
    [SkippableFact]
    public async Task An_image_sent_with_the_file_picker_shows_inline()
    {
        await using var demo = await StartAsync(redis, chromium, "file-image");
        await demo.SignInAsync();
        var roomId = await OpenRoomAsync(demo, 1);
        var png = await DrawPngAsync(demo, 37, 23);

        await demo.Id("message-text").FillAsync("A red rectangle");
        await SendFileAsync(demo, new() { Name = "red.png", MimeType = "image/png", Buffer = png });

        var image = demo.Page.Locator("#messages li").First.Locator("img.attachment");
        await Expect(image).ToHaveJSPropertyAsync("naturalWidth", 37); // the browser fetched and decoded it
        await Expect(image).ToHaveJSPropertyAsync("naturalHeight", 23);
        await Expect(image).ToHaveAttributeAsync("src", Text("^/webex/v1/contents/[^/]+$"));
        await Expect(demo.Page.Locator("#messages li").First.Locator(".text")).ToHaveTextAsync("A red rectangle");
        Assert.Equal(100, await demo.Id("upload-progress").EvaluateAsync<double>("p => p.value"));
        await demo.ScreenshotAsync("image-inline");

        var content = StoredContent(demo, await image.GetAttributeAsync("src"));
        Assert.Equal(roomId, content.RoomId);
        Assert.Equal("image/png", content.ContentType);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(png)), content.Sha256.ToLowerInvariant());

        // The <img> request carried no X-CSRF: the gateway let it through because the page is its own (Sec-Fetch-Site).
        var get = demo.World.Webex.Requests.Last(r => r.Method == "GET" && r.RawTarget.StartsWith("/v1/contents/", StringComparison.Ordinal));
        Assert.Contains(content.Id, Uri.UnescapeDataString(get.RawTarget), StringComparison.Ordinal);
        await Expect(demo.Id("error")).ToBeHiddenAsync();
        demo.AssertNoPageErrors();
    }

    [SkippableFact]
    public async Task A_file_downloaded_from_the_messages_has_the_bytes_sent()
    {
        await using var demo = await StartAsync(redis, chromium, "file-download");
        await demo.SignInAsync();
        await OpenRoomAsync(demo, 2);
        var bytes = RandomNumberGenerator.GetBytes(300_000);

        await SendFileAsync(demo, new() { Name = "data.bin", MimeType = "application/octet-stream", Buffer = bytes });

        var link = demo.Page.Locator("#messages li").First.Locator("a.attachment");
        await Expect(link).ToHaveTextAsync("data.bin");
        await demo.ScreenshotAsync("download-link");
        var download = await demo.Page.RunAndWaitForDownloadAsync(() => link.ClickAsync());

        Assert.Null(await download.FailureAsync());
        Assert.Equal("data.bin", download.SuggestedFilename);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(await download.PathAsync()));
        await Expect(demo.Id("error")).ToBeHiddenAsync();
        demo.AssertNoPageErrors();
    }

    /// <summary>
    /// Someone sends an HTML file whose script would run in the gateway's origin if the browser rendered it. Opened as
    /// the page's own address (no <c>download</c> attribute to help), the browser saves it: the gateway answered it as an
    /// attachment, sandboxed, and no script of it ran.
    /// </summary>
    [SkippableFact]
    public async Task An_html_attachment_downloads_instead_of_rendering()
    {
        await using var demo = await StartAsync(redis, chromium, "file-html");
        await demo.SignInAsync();
        await OpenRoomAsync(demo, 0);
        var dialogs = new ConcurrentQueue<string>();
        demo.Page.Dialog += (_, dialog) =>
        {
            dialogs.Enqueue(dialog.Message);
            _ = dialog.DismissAsync();
        };
        const string html = "<!doctype html><script>window.top.pwned = document.domain; alert('pwned');</script><p>hello</p>";

        await SendFileAsync(demo, new() { Name = "page.html", MimeType = "text/html", Buffer = System.Text.Encoding.UTF8.GetBytes(html) });

        var link = demo.Page.Locator("#messages li").First.Locator("a.attachment");
        await Expect(link).ToHaveTextAsync("page.html");
        var href = (await link.GetAttributeAsync("href"))!;
        var page = demo.Page.Url;

        var download = await demo.Page.RunAndWaitForDownloadAsync(() => demo.Page.EvaluateAsync("href => { location.href = href; }", href));

        Assert.Equal(html, await File.ReadAllTextAsync(await download.PathAsync()));
        await Expect(demo.Id("name")).ToHaveTextAsync(demo.Person.DisplayName); // still the demo app, not the file
        Assert.Equal(page, demo.Page.Url);
        Assert.Equal("undefined", await demo.Page.EvaluateAsync<string>("() => typeof window.pwned"));
        Assert.Empty(dialogs);

        var response = await demo.Page.APIRequest.GetAsync(href, new() { Headers = new Dictionary<string, string> { ["X-CSRF"] = "1" } });
        Assert.Equal(200, response.Status);
        Assert.StartsWith("attachment", response.Headers["content-disposition"], StringComparison.Ordinal);
        Assert.Contains("sandbox", response.Headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers["x-content-type-options"]);
        await demo.ScreenshotAsync("html-downloaded");
        demo.AssertNoPageErrors();
    }

    /// <summary>
    /// A room as the README shows it: a message with an image, shown inline, and one with a document, a download link.
    /// Its last screenshot (<c>screenshots/readme-*-demo.png</c>) is what <c>docs/screenshot.sh</c> copies to docs/demo.png.
    /// </summary>
    [SkippableFact]
    public async Task A_room_shows_an_image_inline_and_a_document_as_a_download_link()
    {
        await using var demo = await StartAsync(redis, chromium, "readme", liveEvents: true);
        await demo.SignInAsync();
        await OpenRoomAsync(demo, 2);
        var chart = Convert.FromBase64String(await demo.Page.EvaluateAsync<string>("""
            () => {
              const canvas = Object.assign(document.createElement('canvas'), { width: 240, height: 140 });
              const context = canvas.getContext('2d');
              context.fillStyle = '#f5f8fc';
              context.fillRect(0, 0, 240, 140);
              [42, 70, 58, 96, 118].forEach((height, i) => {
                context.fillStyle = i === 4 ? '#0a66c2' : '#8fb8e6';
                context.fillRect(20 + i * 44, 125 - height, 30, height);
              });
              context.fillStyle = '#1d1d1f';
              context.font = '13px sans-serif';
              context.fillText('Sign-ups per sprint', 20, 18);
              return canvas.toDataURL('image/png').split(',')[1];
            }
            """));

        await demo.Id("message-text").FillAsync("The minutes of Monday's review");
        await SendFileAsync(demo, new() { Name = "review-minutes.pdf", MimeType = "application/pdf", Buffer = "%PDF-1.4\n%%EOF\n"u8.ToArray() });
        await demo.Id("message-text").FillAsync("Sign-ups are up again this sprint");
        await SendFileAsync(demo, new() { Name = "sign-ups.png", MimeType = "image/png", Buffer = chart });

        var messages = demo.Page.Locator("#messages li");
        await Expect(messages.Nth(0).Locator(".text")).ToHaveTextAsync("Sign-ups are up again this sprint");
        await Expect(messages.Nth(0).Locator("img.attachment")).ToHaveJSPropertyAsync("naturalWidth", 240);
        await Expect(messages.Nth(1).Locator(".text")).ToHaveTextAsync("The minutes of Monday's review");
        await Expect(messages.Nth(1).Locator("a.attachment")).ToHaveTextAsync("review-minutes.pdf");
        await Expect(messages.Nth(1).Locator("a.attachment")).ToHaveAttributeAsync("download", "review-minutes.pdf");
        await Expect(demo.Id("error")).ToBeHiddenAsync();
        await Expect(demo.Id("live-status")).ToHaveTextAsync("Live updates on");
        await demo.Page.EvaluateAsync("() => document.activeElement?.blur()");
        await demo.ScreenshotAsync("demo");
        demo.AssertNoPageErrors();
    }

    private static async Task<string> OpenRoomAsync(DemoPage demo, int index)
    {
        var room = demo.Rooms.Nth(index);
        var roomId = (await room.GetAttributeAsync("data-room-id"))!;
        await room.ClickAsync();
        await Expect(demo.Id("room-select")).ToHaveValueAsync(roomId);
        await Expect(demo.Id("messages-room")).ToContainTextAsync((await room.Locator(".title").TextContentAsync())!);
        return roomId;
    }

    private static async Task SendFileAsync(DemoPage demo, FilePayload file)
    {
        var before = MultipartPosts(demo);
        await demo.Id("file-input").SetInputFilesAsync(file);
        await demo.Id("upload").ClickAsync();
        await Expect(demo.Id("upload-status")).ToHaveTextAsync($"Sent {file.Name}");
        Assert.Equal(before + 1, MultipartPosts(demo));
    }

    private static int MultipartPosts(DemoPage demo) => demo.World.Webex.Requests.Count(r => r.Method == "POST" && r.RawTarget == "/v1/messages"
        && r.Headers.Any(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
            && h.Value.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase)));

    /// <summary>A real PNG of the given size, drawn and encoded by the browser's canvas.</summary>
    private static async Task<byte[]> DrawPngAsync(DemoPage demo, int width, int height) =>
        Convert.FromBase64String(await demo.Page.EvaluateAsync<string>("""
            ([width, height]) => {
              const canvas = Object.assign(document.createElement('canvas'), { width, height });
              const context = canvas.getContext('2d');
              context.fillStyle = '#c00';
              context.fillRect(0, 0, width, height);
              return canvas.toDataURL('image/png').split(',')[1];
            }
            """, new[] { width, height }));

    private static Webex.Emulator.EmulatorContent StoredContent(DemoPage demo, string? gatewayPath)
    {
        var id = Uri.UnescapeDataString(gatewayPath!.Split('/')[^1]);
        return demo.World.Webex.Content(id) ?? throw new InvalidOperationException($"the emulator has no file {id}");
    }
}
