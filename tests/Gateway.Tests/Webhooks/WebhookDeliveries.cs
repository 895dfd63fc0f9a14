using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WebexGateway.Storage;
using WebexGateway.Tests.Infrastructure;
using WebexGateway.Webhooks;

namespace WebexGateway.Tests.Webhooks;

/// <summary>Deliveries to a gateway's <c>POST /webhooks/webex</c>, signed as Webex signs them, and what they left in the store.</summary>
public static class WebhookDeliveries
{
    /// <summary>A gateway with live events on, at its own loopback address (what Webex would post to).</summary>
    public static Dictionary<string, string?> LiveEvents(string scopes = "spark:people_read spark:rooms_read spark:messages_write spark:messages_read spark:memberships_read") => new()
    {
        ["Gateway:PublicUrl"] = "http://127.0.0.1:1",
        ["Webex:Scopes"] = scopes,
    };

    /// <summary>A record the gateway's store holds, as if its lifecycle had made the webhook; returns its secret.</summary>
    public static async Task<WebhookRecord> SeedAsync(GatewayHost gateway, string personId, string resource = "messages", string @event = "created")
    {
        var record = new WebhookRecord($"hook-{Guid.NewGuid():N}", personId, Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), resource, @event);
        await gateway.Services.GetRequiredService<WebhookStore>().SaveAsync(record);
        return record;
    }

    /// <summary>A delivery of Webex's shape for <paramref name="record"/>'s webhook.</summary>
    public static string Body(WebhookRecord record, string dataId = "msg-1", string? actorId = "actor-1", string? resource = null, string? @event = null,
        string extraData = "") => JsonSerializer.Serialize(new
        {
            id = record.WebhookId,
            name = "webex-gateway",
            targetUrl = "http://127.0.0.1:1/webhooks/webex",
            resource = resource ?? record.Resource,
            @event = @event ?? record.Event,
            orgId = "org-1",
            createdBy = "someone-else",
            appId = "app-1",
            ownedBy = "creator",
            status = "active",
            created = "2026-01-01T00:00:00.000Z",
            actorId,
            data = JsonDocument.Parse($$"""{"id":"{{dataId}}","roomId":"room-1","personId":"someone-else","created":"2026-01-02T03:04:05.000Z"{{extraData}}}""").RootElement,
        });

    public static string Sign(string secret, string body) => WebhookReceiver.Sign(secret, Encoding.UTF8.GetBytes(body));

    public static async Task<HttpResponseMessage> PostAsync(GatewayHost gateway, string body, string? signature, string contentType = "application/json")
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.Address, "/webhooks/webex"))
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Spark-Signature", signature);
        }

        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>The entries of the person's event log, oldest first.</summary>
    public static async Task<IReadOnlyList<string>> EventLogAsync(GatewayHost gateway, string personId)
    {
        var keys = gateway.Services.GetRequiredService<RedisKeys>();
        var redis = gateway.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>();
        var entries = await redis.GetDatabase().SortedSetRangeByRankAsync(keys.EventLog(personId));
        return entries.Select(e => (string)e!).ToList();
    }
}
