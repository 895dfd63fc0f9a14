using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>One HTTP/1.1 exchange as it went over the wire.</summary>
public sealed record RawResponse(int Status, string Head, string Body, TimeSpan Elapsed)
{
    /// <summary>No status line came back (the connection was closed or reset first).</summary>
    public bool NoResponse => Status == 0;

    public string Text => Head + "\r\n\r\n" + Body;

    /// <summary>The values of one response header (case-insensitive), in order.</summary>
    public IEnumerable<string> Header(string name) => Head.Split("\r\n").Skip(1)
        .Select(line => line.Split(':', 2))
        .Where(parts => parts.Length == 2 && string.Equals(parts[0].Trim(), name, StringComparison.OrdinalIgnoreCase))
        .Select(parts => parts[1].Trim());

    public override string ToString() => NoResponse ? "(no response)" : $"{Status} after {Elapsed.TotalMilliseconds:0} ms: {Head.Split("\r\n")[0]}";
}

/// <summary>
/// Requests written byte for byte on a TcpClient: HttpClient normalizes or refuses odd targets, control characters,
/// duplicate or oversized headers, and bodies that do not match their framing. Each exchange has its own deadline.
/// </summary>
public static class RawHttp
{
    public static Task<RawResponse> SendAsync(Uri server, string request, TimeSpan? timeout = null, bool halfClose = false) =>
        SendAsync(server, Encoding.Latin1.GetBytes(request), timeout, halfClose);

    /// <summary>
    /// Writes the request and reads until the server closes (every request here says <c>Connection: close</c>) or
    /// <paramref name="timeout"/> (default 10 s) passes, which throws <see cref="TimeoutException"/>. With
    /// <paramref name="halfClose"/> the client's side is shut after the request, as a client that gives up would do:
    /// Kestrel then treats the request as aborted.
    /// </summary>
    public static async Task<RawResponse> SendAsync(Uri server, byte[] request, TimeSpan? timeout = null, bool halfClose = false)
    {
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(server.Host, server.Port, deadline.Token);
        var stream = tcp.GetStream();
        try
        {
            await stream.WriteAsync(request, deadline.Token);
            if (halfClose)
            {
                tcp.Client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The server answered and closed before it read everything (431, 414, 413 do): read what it said.
        }

        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, deadline.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"no end of response within {(timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds:0} s; received so far: {Encoding.Latin1.GetString(received.ToArray())}");
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // A reset after the response: keep what arrived.
        }

        return Parse(received.ToArray(), clock.Elapsed);
    }

    /// <summary>A GET with the usual headers of a signed-in frontend call; <paramref name="extraHeaders"/> are whole lines.</summary>
    public static string Get(Uri server, string target, string? cookie = null, bool csrf = true, params string[] extraHeaders) =>
        Request("GET", server, target, cookie, csrf, null, extraHeaders);

    public static string Request(string method, Uri server, string target, string? cookie, bool csrf, string? body, params string[] extraHeaders)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{method} {target} HTTP/1.1\r\n");
        if (!extraHeaders.Any(h => h.StartsWith("Host:", StringComparison.OrdinalIgnoreCase)))
        {
            text.Append(CultureInfo.InvariantCulture, $"Host: {server.Authority}\r\n");
        }

        if (csrf)
        {
            text.Append("X-CSRF: 1\r\n");
        }

        if (cookie is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"Cookie: {cookie}\r\n");
        }

        foreach (var header in extraHeaders)
        {
            text.Append(header).Append("\r\n");
        }

        if (body is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n");
        }

        text.Append("Connection: close\r\n\r\n");
        text.Append(body);
        return text.ToString();
    }

    private static RawResponse Parse(byte[] bytes, TimeSpan elapsed)
    {
        var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        while (end >= 0 && bytes.AsSpan().StartsWith("HTTP/1.1 1"u8))
        {
            // An interim response (100 Continue): the final one follows it.
            bytes = bytes[(end + 4)..];
            end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        }

        var head = Encoding.Latin1.GetString(bytes, 0, end < 0 ? bytes.Length : end);
        var body = end < 0 ? [] : bytes[(end + 4)..];
        if (head.Contains("\r\nTransfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        var statusLine = head.Split("\r\n")[0].Split(' ');
        var status = statusLine.Length > 1 && statusLine[0].StartsWith("HTTP/", StringComparison.Ordinal)
                     && int.TryParse(statusLine[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            ? code
            : 0;
        return new RawResponse(status, head, Encoding.UTF8.GetString(body), elapsed);
    }

    /// <summary>The chunked body's data; what cannot be parsed is kept as it came.</summary>
    private static byte[] Dechunk(byte[] body)
    {
        using var data = new MemoryStream();
        var position = 0;
        while (position < body.Length)
        {
            var lineEnd = body.AsSpan(position).IndexOf("\r\n"u8);
            if (lineEnd < 0 || !int.TryParse(Encoding.Latin1.GetString(body, position, lineEnd).Split(';')[0].Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size))
            {
                data.Write(body, position, body.Length - position);
                break;
            }

            if (size == 0)
            {
                break;
            }

            var start = position + lineEnd + 2;
            var length = Math.Min(size, body.Length - start);
            data.Write(body, start, length);
            position = start + length + 2;
        }

        return data.ToArray();
    }
}

/// <summary>
/// A listener on 127.0.0.1 that stands for "somewhere other than Webex": tests aim hostile paths and headers at it and
/// assert that nothing ever connected. It answers whatever arrives with a 200 so a stray forward would show as a success.
/// </summary>
public sealed class EvilListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public EvilListener()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary><c>127.0.0.1:port</c>, the authority hostile inputs point at.</summary>
    public string Authority => $"127.0.0.1:{Port}";

    /// <summary>The first bytes of every connection it accepted.</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    public void AssertUntouched(string context) =>
        Assert.True(Received.IsEmpty, $"{context}: a request reached a host other than Webex's ApiUrl:\n{string.Join("\n---\n", Received)}");

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (client)
                {
                    var buffer = new byte[4096];
                    var stream = client.GetStream();
                    int read;
                    try
                    {
                        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                        read = await stream.ReadAsync(buffer, timeout.Token);
                    }
                    catch (Exception)
                    {
                        read = 0;
                    }

                    Received.Enqueue(read > 0 ? Encoding.Latin1.GetString(buffer, 0, read) : "(connected, sent nothing)");
                    try
                    {
                        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray());
                    }
                    catch (Exception)
                    {
                        // The caller went away; what matters is that it came.
                    }
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception)
        {
            // Stopping.
        }

        _stop.Dispose();
    }
}
