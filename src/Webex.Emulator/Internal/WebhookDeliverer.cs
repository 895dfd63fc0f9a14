using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Webex.Emulator.Internal;

/// <summary>
/// Posts webhook deliveries like Webex: in the background, one at a time and in order per webhook, signed with the
/// webhook's secret; a run of failed deliveries disables the webhook. Keeps every delivery made for tests to inspect.
/// </summary>
internal sealed class WebhookDeliverer : IDisposable
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(10);

    private readonly WebhookStore _store;
    private readonly EmulatorSettings _settings;
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Channel<Outgoing>> _queues = new(StringComparer.Ordinal);
    private readonly List<WebhookDelivery> _deliveries = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WebhookDeliverer(WebhookStore store, EmulatorSettings settings)
    {
        _store = store;
        _settings = settings;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, ConnectTimeout = DeliveryTimeout })
        {
            Timeout = DeliveryTimeout,
        };
    }

    public IReadOnlyList<WebhookDelivery> Deliveries
    {
        get
        {
            lock (_gate)
            {
                return _deliveries.ToArray();
            }
        }
    }

    /// <summary>Queues a delivery to every active webhook that matches the event; returns at once.</summary>
    public void Publish(WebhookEvent e)
    {
        foreach (var webhook in _store.Matching(e))
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(Payload(webhook, e.Event, e.ActorId, e.Data), WebexJson.Options);
            var outgoing = new Outgoing(webhook.Id, webhook.CreatedBy, new Uri(webhook.TargetUrl), body, Sign(body, webhook.Secret));
            lock (_gate)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                if (!_queues.TryGetValue(webhook.Id, out var queue))
                {
                    _queues[webhook.Id] = queue = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
                    _ = Task.Run(() => RunAsync(queue.Reader));
                }

                queue.Writer.TryWrite(outgoing);
            }
        }
    }

    public async Task<IReadOnlyList<WebhookDelivery>> WaitAsync(Func<WebhookDelivery, bool> match, int count, TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            WebhookDelivery[] found;
            lock (_gate)
            {
                found = _deliveries.Where(match).ToArray();
                changed = _changed.Task;
            }

            if (found.Length >= count)
            {
                return found;
            }

            try
            {
                await changed.WaitAsync(timer.Token);
            }
            catch (OperationCanceledException) when (timer.IsCancellationRequested)
            {
                throw new TimeoutException($"{found.Length} of the {count} webhook deliveries awaited were made within {timeout}.");
            }
        }
    }

    public async Task<WebhookDelivery> ForgeAsync(WebexWebhook webhook, ForgedDelivery kind, CancellationToken cancellationToken)
    {
        var @event = webhook.Event == "all" ? "created" : webhook.Event;
        var roomId = webhook.ParsedFilter.RoomId ?? WebexIds.Encode("ROOM", Guid.NewGuid());
        var now = _settings.Time.GetUtcNow();
        object data = webhook.Resource switch
        {
            "memberships" => new WebexMembership(
                WebexIds.Encode("MEMBERSHIP", Guid.NewGuid()), roomId, webhook.CreatedBy, "forger@example.com", "Forger", webhook.OrgId, false, false, "group", false, now),
            "rooms" => new WebexRoom(roomId, "Forged", "group", false, now, webhook.CreatedBy, now, webhook.OrgId, false, false, false, null),
            _ => new MessageEventData(WebexIds.Encode("MESSAGE", Guid.NewGuid()), roomId, "group", webhook.CreatedBy, "forger@example.com", null, null, now),
        };
        var payload = Payload(webhook, @event, webhook.CreatedBy, data);
        if (kind == ForgedDelivery.UnknownWebhookId)
        {
            payload = payload with { Id = WebexIds.Encode("WEBHOOK", Guid.NewGuid()) };
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(payload, WebexJson.Options);
        var signature = kind switch
        {
            ForgedDelivery.NoSignature => null,
            ForgedDelivery.WrongSignature => Sign(body, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)))!,
            _ => Sign(body, webhook.Secret ?? ""),
        };

        if (kind == ForgedDelivery.TamperedBody)
        {
            var node = JsonNode.Parse(body)!;
            node["actorId"] = WebexIds.Encode("PEOPLE", Guid.NewGuid());
            body = Encoding.UTF8.GetBytes(node.ToJsonString());
        }

        return await SendAsync(new Outgoing(webhook.Id, webhook.CreatedBy, new Uri(webhook.TargetUrl), body, signature), WebhookDeliveryKind.Forged, cancellationToken);
    }

    public Task<WebhookDelivery> SendAsync(WebexWebhook webhook, byte[] body, string? signature, WebhookDeliveryKind kind, CancellationToken cancellationToken) =>
        SendAsync(new Outgoing(webhook.Id, webhook.CreatedBy, new Uri(webhook.TargetUrl), body.ToArray(), signature), kind, cancellationToken);

    public Task<WebhookDelivery> RedeliverAsync(WebhookDelivery delivery, CancellationToken cancellationToken) =>
        SendAsync(new Outgoing(delivery.WebhookId, delivery.PersonId, delivery.TargetUrl, delivery.Body, delivery.Signature), WebhookDeliveryKind.Redelivery, cancellationToken);

    public void Clear()
    {
        lock (_gate)
        {
            _deliveries.Clear();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping.Cancel();
            foreach (var queue in _queues.Values)
            {
                queue.Writer.TryComplete();
            }
        }

        _http.Dispose();
    }

    /// <summary>Lowercase hex HMAC-SHA1 of the exact body bytes, as Webex's <c>X-Spark-Signature</c>; null without a secret.</summary>
    internal static string? Sign(byte[] body, string? secret) =>
        string.IsNullOrEmpty(secret) ? null : Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), body));

    private static WebhookPayload Payload(WebexWebhook webhook, string @event, string actorId, object data) => new(
        webhook.Id, webhook.Name, webhook.TargetUrl, webhook.Resource, @event, webhook.Filter, webhook.OrgId, webhook.CreatedBy, webhook.AppId,
        webhook.OwnedBy, webhook.Status, webhook.Created, actorId, data);

    private async Task RunAsync(ChannelReader<Outgoing> queue)
    {
        try
        {
            await foreach (var outgoing in queue.ReadAllAsync(_stopping.Token))
            {
                // A webhook disabled, deactivated or deleted since the event was queued gets nothing more.
                if (!_store.IsActive(outgoing.WebhookId))
                {
                    continue;
                }

                await SendAsync(outgoing, WebhookDeliveryKind.Event, _stopping.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException && _stopping.IsCancellationRequested)
        {
            // The emulator is stopping.
        }
    }

    private async Task<WebhookDelivery> SendAsync(Outgoing outgoing, WebhookDeliveryKind kind, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, outgoing.Target) { Content = new ByteArrayContent(outgoing.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (outgoing.Signature is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Spark-Signature", outgoing.Signature);
        }

        int? status;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            status = (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            status = null; // refused, reset, or no answer within the timeout
        }

        var delivery = new WebhookDelivery(outgoing.WebhookId, outgoing.PersonId, outgoing.Target, outgoing.Body, outgoing.Signature, status, kind, _settings.Time.GetUtcNow());
        if (kind == WebhookDeliveryKind.Event)
        {
            // Counted before it is visible, so a test that saw the delivery also sees the webhook's new status.
            _store.CountOutcome(outgoing.WebhookId, delivery.Delivered, _settings.DisableWebhookAfterFailures);
        }

        TaskCompletionSource changed;
        lock (_gate)
        {
            _deliveries.Add(delivery);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
        return delivery;
    }

    private sealed record Outgoing(string WebhookId, string PersonId, Uri Target, byte[] Body, string? Signature);
}
