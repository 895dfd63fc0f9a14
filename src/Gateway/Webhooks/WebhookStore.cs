using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.DataProtection;
using StackExchange.Redis;
using WebexGateway.Storage;
using WebexGateway.Telemetry;

namespace WebexGateway.Webhooks;

/// <summary>What the gateway knows of a webhook it made: whose it is, its secret, and the one pair it was made for.</summary>
public sealed record WebhookRecord(
    [property: JsonPropertyName("webhookId")] string WebhookId,
    [property: JsonPropertyName("personId")] string PersonId,
    [property: JsonPropertyName("secret")] string Secret,
    [property: JsonPropertyName("resource")] string Resource,
    [property: JsonPropertyName("event")] string Event)
{
    public EventPair Pair => new(Resource, Event);

    /// <summary>Never the secret.</summary>
    public override string ToString() => $"WebhookRecord {WebhookId} {Resource}:{Event}";
}

/// <summary>
/// The webhooks' records in Redis, encrypted with Data Protection and bound to their webhook id (the purpose chain), so a
/// record copied onto another webhook's key decrypts to nothing: a delivery is only ever checked with the secret made for
/// its own webhook, and credited to that webhook's person. A set per person indexes them, and a set of people serves the
/// periodic check.
/// </summary>
public sealed class WebhookStore(IConnectionMultiplexer redis, RedisKeys keys, IDataProtectionProvider protection, ILogger<WebhookStore> logger)
{
    private readonly IDataProtector _protector = protection.CreateProtector("WebexGateway.Webhooks.v1");

    /// <summary>The record of the webhook, or null when the gateway has none (or none it can read as this webhook's).</summary>
    public async Task<WebhookRecord?> GetAsync(string webhookId)
    {
        var value = await redis.GetDatabase().StringGetAsync(keys.Webhook(webhookId));
        return value.IsNullOrEmpty ? null : Decode(webhookId, value!);
    }

    public async Task SaveAsync(WebhookRecord record)
    {
        var payload = _protector.CreateProtector(record.WebhookId).Protect(JsonSerializer.SerializeToUtf8Bytes(record, WebhookJsonContext.Default.WebhookRecord));
        var db = redis.GetDatabase();
        // The record before its index entries: an index entry never names a webhook without a record for long.
        await db.StringSetAsync(keys.Webhook(record.WebhookId), payload);
        await Task.WhenAll(
            db.SetAddAsync(keys.WebhooksOf(record.PersonId), record.WebhookId),
            db.SetAddAsync(keys.WebhookPeople, record.PersonId));
    }

    /// <summary>The ids of the webhooks the gateway made for the person, as its index holds them.</summary>
    public async Task<IReadOnlyList<string>> IdsOfAsync(string personId)
        => (await redis.GetDatabase().SetMembersAsync(keys.WebhooksOf(personId))).Select(id => (string)id!).ToList();

    public async Task<IReadOnlyList<string>> PeopleAsync()
        => (await redis.GetDatabase().SetMembersAsync(keys.WebhookPeople)).Select(id => (string)id!).ToList();

    /// <summary>Deletes one webhook's record and index entry.</summary>
    public async Task DeleteAsync(string personId, string webhookId)
    {
        var db = redis.GetDatabase();
        await Task.WhenAll(db.KeyDeleteAsync(keys.Webhook(webhookId)), db.SetRemoveAsync(keys.WebhooksOf(personId), webhookId));
    }

    /// <summary>Deletes every record of the person, their index and their entry among the people.</summary>
    public async Task ForgetPersonAsync(string personId)
    {
        var db = redis.GetDatabase();
        var ids = await IdsOfAsync(personId);
        await Task.WhenAll(ids.Select(id => db.KeyDeleteAsync(keys.Webhook(id))));
        await Task.WhenAll(db.KeyDeleteAsync(keys.WebhooksOf(personId)), db.SetRemoveAsync(keys.WebhookPeople, personId));
    }

    private WebhookRecord? Decode(string webhookId, byte[] payload)
    {
        try
        {
            var json = _protector.CreateProtector(webhookId).Unprotect(payload);
            var record = JsonSerializer.Deserialize(json, WebhookJsonContext.Default.WebhookRecord);
            if (record is not null && string.Equals(record.WebhookId, webhookId, StringComparison.Ordinal))
            {
                return record;
            }
        }
        catch (Exception e) when (e is CryptographicException or JsonException && !StoreUnavailableHandler.IsStoreUnavailable(e))
        {
            // Another webhook's record copied here, or a key ring this instance cannot read: as good as none. A store that is
            // down is not this: what Redis threw goes on, for a 503.
            Log.UnreadableWebhook(logger, e.GetType().Name);
            return null;
        }

        Log.UnreadableWebhook(logger, "WebhookIdMismatch");
        return null;
    }
}

[JsonSerializable(typeof(WebhookRecord))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;
