namespace Webex.Emulator.Internal;

/// <summary>
/// Webhooks by id. Each belongs to the person and the integration whose token created it. Records are immutable and
/// replaced under the lock; the run of failed deliveries is kept beside them.
/// </summary>
internal sealed class WebhookStore
{
    public const string Active = "active";
    public const string Disabled = "disabled";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, WebexWebhook> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private long _sequence;

    public WebexWebhook Add(WebexWebhook webhook)
    {
        lock (_gate)
        {
            webhook = webhook with { Sequence = ++_sequence };
            _byId[webhook.Id] = webhook;
            return webhook;
        }
    }

    /// <summary>Any webhook by id (test hooks); null when unknown.</summary>
    public WebexWebhook? Find(string id)
    {
        lock (_gate)
        {
            return _byId.GetValueOrDefault(id);
        }
    }

    /// <summary>The webhook when it exists and is the person's, made by the integration; null otherwise.</summary>
    public WebexWebhook? Get(TokenGrant owner, string id)
    {
        lock (_gate)
        {
            return _byId.TryGetValue(id, out var webhook) && IsOwner(webhook, owner) ? webhook : null;
        }
    }

    /// <summary>The person's webhooks made by the integration, oldest first.</summary>
    public IReadOnlyList<WebexWebhook> List(TokenGrant owner)
    {
        lock (_gate)
        {
            return _byId.Values.Where(w => IsOwner(w, owner)).OrderBy(w => w.Sequence).ToArray();
        }
    }

    /// <summary>Every webhook of the person, whatever the integration (test hooks), oldest first.</summary>
    public IReadOnlyList<WebexWebhook> OfPerson(string personId)
    {
        lock (_gate)
        {
            return _byId.Values.Where(w => w.CreatedBy == personId).OrderBy(w => w.Sequence).ToArray();
        }
    }

    /// <summary>Replaces the owner's webhook through <paramref name="update"/>; null when it is not theirs. Reactivating clears the failures.</summary>
    public WebexWebhook? Update(TokenGrant owner, string id, Func<WebexWebhook, WebexWebhook> update)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var webhook) || !IsOwner(webhook, owner))
            {
                return null;
            }

            var updated = update(webhook);
            _byId[id] = updated;
            if (updated.Status == Active)
            {
                _failures.Remove(id);
            }

            return updated;
        }
    }

    public bool Delete(TokenGrant owner, string id)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var webhook) || !IsOwner(webhook, owner))
            {
                return false;
            }

            _failures.Remove(id);
            return _byId.Remove(id);
        }
    }

    /// <summary>Sets the status of any webhook (test hooks); false when unknown.</summary>
    public bool SetStatus(string id, string status)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var webhook))
            {
                return false;
            }

            _byId[id] = webhook with { Status = status };
            if (status == Active)
            {
                _failures.Remove(id);
            }

            return true;
        }
    }

    /// <summary>The active webhooks of the event's recipients that match it, oldest first.</summary>
    public IReadOnlyList<WebexWebhook> Matching(WebhookEvent e)
    {
        lock (_gate)
        {
            return _byId.Values
                .Where(w => w.Status == Active && e.Recipients.Contains(w.CreatedBy))
                .Where(w => w.Resource == e.Resource && (w.Event == "all" || w.Event == e.Event))
                .Where(w => w.ParsedFilter.Matches(e))
                .OrderBy(w => w.Sequence)
                .ToArray();
        }
    }

    /// <summary>True when the webhook exists and is active (a delivery may go out).</summary>
    public bool IsActive(string id)
    {
        lock (_gate)
        {
            return _byId.TryGetValue(id, out var webhook) && webhook.Status == Active;
        }
    }

    /// <summary>Counts a delivery's outcome; the failure that reaches <paramref name="disableAfter"/> in a row disables the webhook.</summary>
    public void CountOutcome(string id, bool delivered, int disableAfter)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var webhook) || webhook.Status != Active)
            {
                return;
            }

            if (delivered)
            {
                _failures.Remove(id);
                return;
            }

            var failures = _failures.GetValueOrDefault(id) + 1;
            _failures[id] = failures;
            if (failures >= disableAfter)
            {
                _byId[id] = webhook with { Status = Disabled };
                _failures.Remove(id);
            }
        }
    }

    private static bool IsOwner(WebexWebhook webhook, TokenGrant owner) =>
        webhook.CreatedBy == owner.PersonId && webhook.ClientId == owner.ClientId;
}
