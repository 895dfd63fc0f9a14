using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace WebexGateway.Events;

/// <summary>
/// An event as its person's log holds it: its position in that log (the stream's <c>id:</c>), what the browser is sent
/// (<see cref="Json"/>: resource, event, actorId, created, data) and what the delivery's telemetry needs: when the
/// webhook was received and the receipt's trace context. Parsed once per instance and shared by every stream it goes to.
/// </summary>
public sealed class LoggedEvent
{
    private LoggedEvent(long position, string type, byte[] json, DateTimeOffset receivedAt, ActivityContext receipt)
    {
        Position = position;
        Type = type;
        Json = json;
        ReceivedAt = receivedAt;
        Receipt = receipt;
    }

    public long Position { get; }

    /// <summary><c>resource.event</c>, such as <c>messages.created</c>: the stream's <c>event:</c>.</summary>
    public string Type { get; }

    /// <summary>The stream's <c>data:</c>: one line of UTF-8 JSON.</summary>
    public byte[] Json { get; }

    public DateTimeOffset ReceivedAt { get; }

    /// <summary>The trace context the webhook's receipt was appended in; default when it had none.</summary>
    public ActivityContext Receipt { get; }

    /// <summary>A log entry: the stored JSON with the receipt's time and trace context, which the browser never sees.</summary>
    public static string Entry(WebexEvent webexEvent, DateTimeOffset receivedAt, Activity? receipt)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("resource", webexEvent.Resource);
            writer.WriteString("event", webexEvent.Event);
            writer.WriteString("actorId", webexEvent.ActorId);
            writer.WriteString("created", webexEvent.Created);
            writer.WritePropertyName("data");
            if (webexEvent.Data.ValueKind == JsonValueKind.Undefined)
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else
            {
                webexEvent.Data.WriteTo(writer);
            }

            writer.WriteNumber("receivedAt", receivedAt.ToUnixTimeMilliseconds());
            if (receipt is { IdFormat: ActivityIdFormat.W3C, Id: { } traceparent })
            {
                writer.WriteString("traceparent", traceparent);
                if (receipt.TraceStateString is { } tracestate)
                {
                    writer.WriteString("tracestate", tracestate);
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A log member, <c>"&lt;position&gt; &lt;entry&gt;"</c>; null for anything else.</summary>
    public static LoggedEvent? Parse(string member)
    {
        var space = member.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || !long.TryParse(member.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(member.AsMemory(space + 1));
            var root = document.RootElement;
            var resource = Text(root, "resource");
            var name = Text(root, "event");
            var receivedAt = root.TryGetProperty("receivedAt", out var at) && at.TryGetInt64(out var ms)
                ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
                : DateTimeOffset.MinValue;
            var receipt = ActivityContext.TryParse(Text(root, "traceparent"), Text(root, "tracestate"), out var context) ? context : default;

            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("resource", resource);
                writer.WriteString("event", name);
                writer.WriteString("actorId", Text(root, "actorId"));
                writer.WriteString("created", Text(root, "created"));
                writer.WritePropertyName("data");
                if (root.TryGetProperty("data", out var data))
                {
                    data.WriteTo(writer);
                }
                else
                {
                    writer.WriteStartObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            // The type is one line of the stream: nothing in it may end that line.
            var type = string.Concat($"{resource}.{name}".Where(c => !char.IsControl(c)));
            return new LoggedEvent(position, type, buffer.ToArray(), receivedAt, receipt);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
