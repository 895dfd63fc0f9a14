using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using WebexGateway.Tests.Infrastructure;

namespace WebexGateway.Tests.Events;

/// <summary>One frame of an event stream: its fields as sent (comments under <c>""</c>), in order.</summary>
public sealed record SseFrame(IReadOnlyList<(string Field, string Value)> Lines)
{
    public string? Id => Value("id");

    public string? Event => Value("event");

    public string? Data => Value("data");

    public bool IsComment => Lines.All(l => l.Field.Length == 0);

    public long Position => long.Parse(Id!, System.Globalization.CultureInfo.InvariantCulture);

    public JsonElement Json => JsonDocument.Parse(Data!).RootElement;

    private string? Value(string field) => Lines.Where(l => l.Field == field).Select(l => l.Value).LastOrDefault();
}

/// <summary>
/// What a browser's EventSource does with <c>/events</c>, at the byte level: the session cookie of a
/// <see cref="Browser"/>, the response read as it arrives and cut into frames, every byte kept.
/// </summary>
public sealed class EventStreamClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _closing = new();
    private readonly Channel<SseFrame> _frames = Channel.CreateUnbounded<SseFrame>();
    private readonly MemoryStream _bytes = new();
    private Task? _reading;
    private int _disposed;

    private EventStreamClient(HttpClient http, HttpResponseMessage response)
    {
        _http = http;
        Response = response;
    }

    public HttpResponseMessage Response { get; }

    public HttpStatusCode Status => Response.StatusCode;

    /// <summary>Set once the gateway ended the response.</summary>
    public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every byte of the stream so far, as text.</summary>
    public string Text
    {
        get
        {
            lock (_bytes)
            {
                return Encoding.UTF8.GetString(_bytes.ToArray());
            }
        }
    }

    public static Task<EventStreamClient> OpenAsync(Browser browser, GatewayHost gateway, Action<HttpRequestHeaders>? headers = null, string path = "/events")
        => OpenAsync(browser, gateway.Address, headers, path);

    public static async Task<EventStreamClient> OpenAsync(Browser browser, Uri gateway, Action<HttpRequestHeaders>? headers = null, string path = "/events")
    {
        var http = new HttpClient(new SocketsHttpHandler { CookieContainer = browser.Cookies, UseProxy = false, AllowAutoRedirect = false })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, path));
        request.Headers.Accept.ParseAdd("text/event-stream");
        headers?.Invoke(request.Headers);
        using var opening = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, opening.Token);
        var client = new EventStreamClient(http, response);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            client._reading = client.ReadAsync();
        }

        return client;
    }

    /// <summary>The next frame, comments included; fails after <paramref name="timeout"/> (10 s by default).</summary>
    public async Task<SseFrame> NextAsync(TimeSpan? timeout = null)
    {
        using var waiting = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _frames.Reader.ReadAsync(waiting.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no frame within {(timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds} s; the stream so far:\n{Text}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"the stream ended; it was:\n{Text}");
        }
    }

    /// <summary>The next frame that is an event (not a comment, not the opening <c>id:</c>).</summary>
    public async Task<SseFrame> NextEventAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            var frame = await NextAsync(timeout);
            if (frame.Event is not null)
            {
                return frame;
            }
        }
    }

    /// <summary>Whether any frame arrives within <paramref name="wait"/>; false when none does.</summary>
    public async Task<SseFrame?> NextOrNoneAsync(TimeSpan wait)
    {
        using var waiting = new CancellationTokenSource(wait);
        try
        {
            return await _frames.Reader.ReadAsync(waiting.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _closing.CancelAsync();
        if (_reading is not null)
        {
            await _reading;
        }

        Response.Dispose();
        _http.Dispose();
        _closing.Dispose();
    }

    private async Task ReadAsync()
    {
        try
        {
            await using var body = await Response.Content.ReadAsStreamAsync(_closing.Token);
            var buffer = new byte[4096];
            var pending = new StringBuilder();
            while (true)
            {
                var read = await body.ReadAsync(buffer, _closing.Token);
                if (read == 0)
                {
                    break;
                }

                lock (_bytes)
                {
                    _bytes.Write(buffer, 0, read);
                }

                pending.Append(Encoding.UTF8.GetString(buffer, 0, read));
                var text = pending.ToString();
                int end;
                while ((end = text.IndexOf("\n\n", StringComparison.Ordinal)) >= 0)
                {
                    _frames.Writer.TryWrite(Parse(text[..end]));
                    text = text[(end + 2)..];
                }

                pending.Clear().Append(text);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // Closed by the test, or the connection dropped.
        }
        finally
        {
            _frames.Writer.TryComplete();
            Closed.TrySetResult();
        }
    }

    private static SseFrame Parse(string frame) => new([.. frame.Split('\n').Select(line =>
    {
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return (line, "");
        }

        var value = line[(colon + 1)..];
        return (line[..colon], value.StartsWith(' ') ? value[1..] : value);
    })]);
}
