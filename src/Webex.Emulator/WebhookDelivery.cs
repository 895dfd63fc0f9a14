namespace Webex.Emulator;

/// <summary>
/// A POST the emulator made to a webhook's target: the exact body bytes, the <c>X-Spark-Signature</c> it carried (null:
/// none) and the status the target answered (null: it could not be reached or did not answer in time).
/// </summary>
public sealed record WebhookDelivery(
    string WebhookId, string PersonId, Uri TargetUrl, byte[] Body, string? Signature, int? Status, WebhookDeliveryKind Kind, DateTimeOffset At)
{
    /// <summary>The target answered 2xx.</summary>
    public bool Delivered => Status is >= 200 and < 300;
}

public enum WebhookDeliveryKind
{
    /// <summary>Made because something happened in a room (a message or a membership).</summary>
    Event,

    /// <summary>Made by <see cref="EmulatorState.DeliverForgedAsync(string, ForgedDelivery, CancellationToken)"/>.</summary>
    Forged,

    /// <summary>Made by <see cref="EmulatorState.RedeliverAsync"/>: an earlier delivery's bytes and signature again.</summary>
    Redelivery,
}

/// <summary>What is wrong with a forged delivery. Each body looks like one of the webhook's, about an event that never happened.</summary>
public enum ForgedDelivery
{
    /// <summary>Signed with a secret that is not the webhook's.</summary>
    WrongSignature,

    /// <summary>No <c>X-Spark-Signature</c> header at all.</summary>
    NoSignature,

    /// <summary>Signed with the webhook's secret, then changed after signing (the signature is of the original bytes).</summary>
    TamperedBody,

    /// <summary>Signed with the webhook's secret, but the body names a webhook id that does not exist.</summary>
    UnknownWebhookId,
}

/// <summary>A webhook as the emulator holds it, for tests; <see cref="HasSecret"/> instead of the secret.</summary>
public sealed record EmulatorWebhook(
    string Id, string PersonId, string ClientId, string Name, string TargetUrl, string Resource, string Event, string? Filter, string Status, bool HasSecret);
