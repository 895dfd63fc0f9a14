using System.Net;
using System.Text;

namespace Webex.Emulator.Tests;

public sealed class RecordingTests
{
    [Fact]
    public async Task ApiRequests_AreRecordedWithRawTargetHeadersAndBody_EvenWhenRejected()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        var body = $$"""{"roomId":"{{h.State.RoomIds[1]}}","text":"recorded"}""";

        using var unauthorized = await h.ApiAsync(HttpMethod.Get, "/v1/rooms?max=2&sortBy=id", "bogus");
        var request = new HttpRequestMessage(HttpMethod.Post, h.Url("/v1/messages")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", access);
        request.Headers.Add("X-Custom", ["one", "two"]);
        using var posted = await h.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var requests = h.State.Requests;
        Assert.Equal(2, requests.Count); // authorize and access_token are not recorded
        Assert.Equal("GET", requests[0].Method);
        Assert.Equal("/v1/rooms?max=2&sortBy=id", requests[0].RawTarget);
        Assert.Equal("Bearer bogus", requests[0].Headers["authorization"]);
        Assert.Empty(requests[0].Body);
        Assert.Equal("POST", requests[1].Method);
        Assert.Equal("/v1/messages", requests[1].RawTarget);
        Assert.Equal("Bearer " + access, requests[1].Headers["Authorization"]);
        Assert.Equal("one, two", requests[1].Headers["x-custom"]); // HttpClient sends one line
        Assert.StartsWith("application/json", requests[1].Headers["content-type"]);
        Assert.Equal(body, Encoding.UTF8.GetString(requests[1].Body));
    }

    [Fact]
    public async Task RepeatedHeaderLines_AreCommaJoined_AndTheRawTargetIsKeptByteForByte()
    {
        await using var h = await Harness.StartAsync();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(h.Emulator.BaseUrl.Host, h.Emulator.BaseUrl.Port);
        var stream = client.GetStream();
        var raw = $"GET /v1/rooms/abc%2fdef%2Bx?max=2&q=a+b HTTP/1.1\r\nHost: {h.Emulator.BaseUrl.Authority}\r\nX-Custom: one\r\nX-Custom: two\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(raw));
        var response = await new StreamReader(stream).ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 401", response);
        var recorded = Assert.Single(h.State.Requests);
        Assert.Equal("/v1/rooms/abc%2fdef%2Bx?max=2&q=a+b", recorded.RawTarget);
        Assert.Equal("one,two", recorded.Headers["X-CUSTOM"]);
    }

    [Fact]
    public async Task Reset_ClearsRequestsAndCountersButKeepsTokens()
    {
        await using var h = await Harness.StartAsync();
        var access = await h.SignInForAccessTokenAsync();
        using var before = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);

        h.State.Reset();

        Assert.Empty(h.State.Requests);
        Assert.Equal(0, h.State.TokenCalls);
        Assert.Equal(0, h.State.CodeExchanges);
        Assert.Equal(0, h.State.RefreshCalls);
        Assert.Equal(access, h.State.LastAccessToken);
        Assert.Contains(access, h.State.IssuedSecrets);
        using var after = await h.ApiAsync(HttpMethod.Get, "/v1/people/me", access);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Single(h.State.Requests);
    }
}
