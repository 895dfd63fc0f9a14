using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using WebexGateway.Events;
using WebexGateway.Refusals;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Webhooks;

/// <summary>
/// <c>POST /webhooks/webex</c>: Webex's deliveries. Public (Webex has no session), so nothing is believed before the
/// signature is checked: the body is read whole (at most <see cref="MaxBodyBytes"/>), its webhook's record found by the
/// webhook id, and <c>X-Spark-Signature</c> compared in constant time with the HMAC-SHA1 of the raw body under that
/// webhook's secret. The event goes to the webhook's person from the record, never from the body, and is appended to
/// their log; the fan-out to their streams happens after the answer, not on Webex's time.
/// </summary>
public sealed class WebhookReceiver(WebhookStore store, PersonEvents events, GatewayMetrics metrics, ILogger<WebhookReceiver> logger)
{
    /// <summary>Webex's deliveries are a few KiB: the webhook's fields and the resource's id and a few of its fields, never its content.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public const string SignatureHeader = "X-Spark-Signature";

    public async Task<IResult> ReceiveAsync(HttpContext context)
    {
        var request = context.Request;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            // Answered without reading the body: the connection cannot be reused for the next request.
            context.Response.Headers.Connection = "close";
            return Refused("refused", "too large", Refuse.PayloadTooLarge(MaxBodyBytes));
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Refused("refused", "not JSON", Refuse.WebhookNotJson);
        }

        var body = await ReadBodyAsync(request, context.RequestAborted);
        if (body is null)
        {
            context.Response.Headers.Connection = "close";
            return Refused("refused", "too large", Refuse.PayloadTooLarge(MaxBodyBytes));
        }

        if (Parse(body) is not { } delivery)
        {
            return Refused("refused", "malformed", Refuse.WebhookMalformed);
        }

        try
        {
            using (delivery.Document)
            {
                var record = await store.GetAsync(delivery.WebhookId);
                if (record is null)
                {
                    return Refused("unknown", "unknown webhook", Refuse.WebhookUnknown);
                }

                if (request.Headers[SignatureHeader].ToString() is not { Length: > 0 } signature)
                {
                    return Refused("bad_signature", "no signature", Refuse.WebhookSignatureMissing);
                }

                if (!SignatureMatches(record.Secret, body, signature))
                {
                    return Refused("bad_signature", "wrong signature", Refuse.WebhookSignatureInvalid);
                }

                if (!string.Equals(delivery.Resource, record.Resource, StringComparison.Ordinal) || !string.Equals(delivery.Event, record.Event, StringComparison.Ordinal))
                {
                    return Refused("refused", "not the webhook's pair", Refuse.WebhookEventMismatch);
                }

                using var activity = GatewayTelemetry.ActivitySource.StartActivity("webhook.receive");
                activity?.SetTag("webex.webhook.resource", record.Resource);
                activity?.SetTag("webex.webhook.event", record.Event);
                activity?.SetTag("enduser.pseudo.id", GatewayMetrics.UserPseudonym(record.PersonId));
                var webexEvent = new WebexEvent(record.PersonId, EventId(delivery), record.Resource, record.Event, delivery.ActorId, delivery.Created,
                    delivery.Data.Clone());
                var appended = await events.AppendAsync(webexEvent, context.RequestAborted);
                activity?.SetTag("webex_gateway.webhook.outcome", appended ? "delivered" : "duplicate");
                metrics.WebhookReceived(appended ? "delivered" : "duplicate");
                return Results.NoContent();
            }
        }
        catch (Exception e) when (StoreUnavailableHandler.StoreErrorIn(e) is { } storeError)
        {
            metrics.RedisError("webhook");
            Log.WebhookStoreUnavailable(logger, storeError.GetType().Name);
            metrics.WebhookReceived("unavailable");
            return Refuse.StoreUnavailable;
        }
    }

    /// <summary>
    /// Webex gives a delivery no id of its own, so one is derived from what names the event: the webhook, its resource and
    /// event, the resource's id and (when present) its creation time. A redelivery of the same event has the same id; the
    /// same message created and then deleted are two events. The hash keeps ids short and of one alphabet.
    /// </summary>
    public static string EventId(string webhookId, string resource, string @event, string? dataId, string? dataCreated)
    {
        var name = string.Join('\n', webhookId, resource, @event, dataId ?? "", dataCreated ?? "");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..32];
    }

    /// <summary>The lowercase hex HMAC-SHA1 of <paramref name="body"/> under <paramref name="secret"/>, as Webex signs.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) => Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), body));

    private static string EventId(Delivery delivery) => EventId(delivery.WebhookId, delivery.Resource, delivery.Event, delivery.DataId, delivery.DataCreated);

    private static bool SignatureMatches(string secret, byte[] body, string signature)
    {
        var expected = Encoding.ASCII.GetBytes(Sign(secret, body));
        var given = Encoding.UTF8.GetBytes(signature.Trim().ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    /// <summary>The body, or null when it is larger than <see cref="MaxBodyBytes"/> (a chunked one is cut off there).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxBodyBytes + 1);
        try
        {
            var length = 0;
            while (true)
            {
                int read;
                try
                {
                    read = await request.Body.ReadAsync(buffer.AsMemory(length, MaxBodyBytes + 1 - length), cancellationToken);
                }
                catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    return null;
                }

                if (read == 0)
                {
                    return buffer.AsSpan(0, length).ToArray();
                }

                length += read;
                if (length > MaxBodyBytes)
                {
                    return null;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Delivery? Parse(byte[] body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException)
        {
            return null;
        }

        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Object
            && Text(root, "id") is { Length: > 0 and <= 512 } id
            && Text(root, "resource") is { Length: > 0 } resource
            && Text(root, "event") is { Length: > 0 } @event
            && root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object)
        {
            return new Delivery(document, id, resource, @event, Text(root, "actorId"), Text(root, "created"), data, Text(data, "id"), Text(data, "created"));
        }

        document.Dispose();
        return null;
    }

    private static string? Text(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private Refusal Refused(string outcome, string reason, Refusal refusal)
    {
        metrics.WebhookReceived(outcome);
        Log.WebhookRefused(logger, outcome, reason);
        return refusal;
    }

    private sealed record Delivery(JsonDocument Document, string WebhookId, string Resource, string Event, string? ActorId, string? Created,
        JsonElement Data, string? DataId, string? DataCreated);
}
