using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebexGateway.Proxy;
using WebexGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Proxy;

/// <summary>Messages with files: the body limit of <c>POST /webex/v1/messages</c>, its 413, and the refresh before a body that cannot be replayed.</summary>
[Collection(GatewayCollection.Name)]
public sealed class UploadTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_message_with_a_file_above_Kestrels_limit_streams_to_Webex_while_other_calls_keep_the_limit()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        // Kestrel's limit lowered from its 30,000,000 bytes, so that crossing it takes a small body.
        await using var gateway = new GatewayHost(world.Emulator, redis.ConnectionString, world.KeyPrefix,
            settings: new Dictionary<string, string?> { ["Gateway:MaxUploadBytes"] = "524288" },
            services: s => s.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = 65536), output: output);
        var browser = world.NewBrowser();
        await browser.SignInAsync(gateway.Address);
        var roomId = world.Webex.RoomIds[0];
        var file = RandomBytes(200 * 1024);
        world.Webex.Reset();

        var upload = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), MessageWithFile(roomId, file, out var sent));

        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        var received = Assert.Single(world.Webex.Requests);
        Assert.Equal(sent, received.Body);
        await AssertFileStoredAsync(world, upload, file);

        // The same size as JSON, or as multipart to another path, is held to Kestrel's limit.
        world.Webex.Reset();
        var json = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"),
            Browser.Json(JsonSerializer.Serialize(new { roomId, text = "x" }) + new string(' ', 200 * 1024)));
        await AssertPayloadTooLargeAsync(json, 65536);
        var elsewhere = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/rooms"), MessageWithFile(roomId, file, out _));
        await AssertPayloadTooLargeAsync(elsewhere, 65536);
        Assert.Empty(world.Webex.Requests);
    }

    [Fact]
    public async Task A_message_with_a_file_above_MaxUploadBytes_with_a_known_length_is_refused_before_Webex_is_called()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Gateway:MaxUploadBytes"] = "65536" });
        world.Webex.Reset();

        // With Expect: 100-continue the client sends the file only once told to go on, which the gateway never does: it
        // answers from Content-Length alone, and nothing of the file crosses the network.
        var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"),
            MessageWithFile(world.Webex.RoomIds[0], RandomBytes(1200 * 1024), out _), headers: h => h.ExpectContinue = true);

        await AssertPayloadTooLargeAsync(response, 65536 + BodySizeLimits.FormFieldsAllowance);
        Assert.Empty(world.Webex.Requests);
        Assert.Equal(0, world.Webex.RefreshCalls);
    }

    [Fact]
    public async Task A_message_with_a_file_above_MaxUploadBytes_sent_at_once_gets_its_413_rather_than_a_reset()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Gateway:MaxUploadBytes"] = "65536" });
        world.Webex.Reset();

        // As a browser's fetch sends it: the whole body at once, no Expect. Answered from Content-Length, the rest of the
        // body is still arriving; the gateway reads and drops it rather than close on it, which would reset the
        // connection under the client before it reads its answer.
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"),
                MessageWithFile(world.Webex.RoomIds[0], RandomBytes(8 * 1024 * 1024), out _));
            await AssertPayloadTooLargeAsync(response, 65536 + BodySizeLimits.FormFieldsAllowance);
        }

        Assert.Empty(world.Webex.Requests);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(gateway.Address, "/webex/v1/people/me"), csrf: true)).StatusCode);
    }

    [Fact]
    public async Task A_chunked_message_with_a_file_is_cut_off_where_it_crosses_MaxUploadBytes_and_Webex_gets_no_message()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?> { ["Gateway:MaxUploadBytes"] = "65536" });
        var roomId = world.Webex.RoomIds[0];
        var messagesBefore = await MessageCountAsync(browser, gateway.Address, roomId);
        world.Webex.Reset();
        using var multipart = MessageWithFile(roomId, RandomBytes(2 * 1024 * 1024), out var bytes);
        var chunked = new StreamContent(new MemoryStream(bytes));
        chunked.Headers.ContentType = multipart.Headers.ContentType;

        var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), chunked,
            headers: h => h.TransferEncodingChunked = true);

        await AssertPayloadTooLargeAsync(response, 65536 + BodySizeLimits.FormFieldsAllowance);
        // The upstream request was aborted: Webex never got the whole body, so it made no message of it.
        Assert.DoesNotContain(world.Webex.Requests, r => r.Method == "POST");
        Assert.Equal(messagesBefore, await MessageCountAsync(browser, gateway.Address, roomId));
    }

    [Fact]
    public async Task A_large_upload_goes_with_a_token_refreshed_first_when_it_expires_within_the_upload_window_and_reaches_Webex_once()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?>
        {
            ["Session:IdleTimeout"] = "15.00:00:00",
            ["Session:AbsoluteLifetime"] = "30.00:00:00",
        }, time);
        var roomId = world.Webex.RoomIds[0];
        var firstToken = world.Webex.LastAccessToken;
        // Above Gateway:MaxReplayBodyBytes (1 MiB): streamed once, it cannot be replayed after a 401.
        var file = RandomBytes(3 * 1024 * 1024);

        // Three hours before the token expires: outside the two-hour window, so the upload goes with the token it has.
        time.Advance(TimeSpan.FromDays(14) - TimeSpan.FromHours(3));
        world.Webex.Reset();
        var early = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), MessageWithFile(roomId, file, out _));
        Assert.Equal(HttpStatusCode.OK, early.StatusCode);
        Assert.Equal(0, world.Webex.RefreshCalls);
        Assert.Equal($"Bearer {firstToken}", Assert.Single(world.Webex.Requests).Headers["Authorization"]);

        // Ninety minutes before: outside Webex:RefreshBeforeExpiry (one hour), so a replayable call still uses the token...
        time.Advance(TimeSpan.FromMinutes(90));
        world.Webex.Reset();
        var small = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"),
            Browser.Json(JsonSerializer.Serialize(new { roomId, text = "small" })));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(0, world.Webex.RefreshCalls);

        // ...but an upload does not: had Webex found the token lapsed by the time the file arrived, nothing could replay it.
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();
        var upload = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), MessageWithFile(roomId, file, out var sent));

        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
        var received = Assert.Single(world.Webex.Requests);
        Assert.Equal($"Bearer {world.Webex.LastAccessToken}", received.Headers["Authorization"]);
        Assert.NotEqual(firstToken, world.Webex.LastAccessToken);
        Assert.Equal(sent.Length, received.BodyLength);
        await AssertFileStoredAsync(world, upload, file);
        Assert.Contains(gateway.Logs, l => l.Contains("Gateway:UploadRefreshWindow", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_chunked_body_goes_with_a_token_refreshed_first_when_it_expires_within_the_upload_window()
    {
        await using var world = await TestWorld.StartAsync(redis, output);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (gateway, browser) = await world.SignedInAsync(new Dictionary<string, string?>
        {
            ["Session:IdleTimeout"] = "15.00:00:00",
            ["Session:AbsoluteLifetime"] = "30.00:00:00",
            ["Gateway:UploadRefreshWindow"] = "04:00:00",
        }, time);
        var firstToken = world.Webex.LastAccessToken;
        time.Advance(TimeSpan.FromDays(14) - TimeSpan.FromHours(3));
        world.Webex.ExpireAccessTokens();
        world.Webex.Reset();
        var json = JsonSerializer.Serialize(new { roomId = world.Webex.RoomIds[0], text = "streamed" });
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.Address, "/webex/v1/messages"), content,
            headers: h => h.TransferEncodingChunked = true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, world.Webex.RefreshCalls);
        var received = Assert.Single(world.Webex.Requests);
        Assert.NotEqual($"Bearer {firstToken}", received.Headers["Authorization"]);
        Assert.Equal(json, Encoding.UTF8.GetString(received.Body));
    }

    private static async Task AssertFileStoredAsync(TestWorld world, HttpResponseMessage response, byte[] file)
    {
        using var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var url = Assert.Single(message.RootElement.GetProperty("files").EnumerateArray()).GetString()!;
        var stored = world.Webex.Content(Uri.UnescapeDataString(url[(url.LastIndexOf('/') + 1)..]));
        Assert.NotNull(stored);
        Assert.Equal(file.Length, stored.Length);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file)), stored.Sha256);
    }

    private static async Task<int> MessageCountAsync(Browser browser, Uri gateway, string roomId)
    {
        var listed = await browser.GetAsync(new Uri(gateway, $"/webex/v1/messages?roomId={Uri.EscapeDataString(roomId)}&max=1000"), csrf: true);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        using var list = JsonDocument.Parse(await listed.Content.ReadAsStringAsync());
        return list.RootElement.GetProperty("items").GetArrayLength();
    }

    private static MultipartFormDataContent MessageWithFile(string roomId, byte[] file, out byte[] bytes)
    {
        var content = new MultipartFormDataContent
        {
            { new StringContent(roomId), "roomId" },
            { new StringContent("a file"), "text" },
        };
        var part = new ByteArrayContent(file);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(part, "files", "data.bin");
        bytes = content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        return content;
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private static async Task AssertPayloadTooLargeAsync(HttpResponseMessage response, long limit)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("payload_too_large", json.RootElement.GetProperty("error").GetString());
        Assert.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), json.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
