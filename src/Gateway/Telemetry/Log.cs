using WebexGateway.Grants;

namespace WebexGateway.Telemetry;

/// <summary>Every log line the gateway writes. None of them takes a token, and none logs an email.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Grant refreshed; the new access token expires at {ExpiresAt:o}")]
    public static partial void GrantRefreshed(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(2, LogLevel.Warning, "Webex refused the refresh token (invalid_grant, TrackingID {TrackingId}); the grant was deleted and the user must sign in again")]
    public static partial void GrantRevoked(ILogger logger, string? trackingId);

    [LoggerMessage(3, LogLevel.Warning, "Token refresh failed ({Failure}): {Reason} (TrackingID {TrackingId}); the grant is kept")]
    public static partial void RefreshFailed(ILogger logger, TokenFailure failure, string reason, string? trackingId);

    [LoggerMessage(4, LogLevel.Warning, "Token refresh could not reach the grant store ({ErrorType})")]
    public static partial void RefreshStoreFailed(ILogger logger, string errorType);

    [LoggerMessage(5, LogLevel.Warning, "A stored grant could not be decrypted ({ErrorType}) and is treated as absent")]
    public static partial void UnreadableGrant(ILogger logger, string errorType);

    [LoggerMessage(6, LogLevel.Information, "Signed in a Webex user; grant stored, access token expires at {ExpiresAt:o}")]
    public static partial void SignedIn(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(7, LogLevel.Warning, "Sign-in failed with {StatusCode}: {Reason}")]
    public static partial void SignInFailed(ILogger logger, int statusCode, string reason);

    [LoggerMessage(8, LogLevel.Information, "Signed out; the grant and the person's {Sessions} session(s) deleted")]
    public static partial void SignedOut(ILogger logger, int sessions);

    [LoggerMessage(9, LogLevel.Warning, "The grant store is unavailable ({ErrorType}); answering 503")]
    public static partial void StoreUnavailable(ILogger logger, string errorType);

    [LoggerMessage(10, LogLevel.Warning, "DEMO MODE: no Webex:ClientId is configured, so the gateway talks to the built-in Webex emulator at {EmulatorUrl}. Nothing reaches the real Webex. Open {GatewayUrl} to try it.")]
    public static partial void DemoMode(ILogger logger, string emulatorUrl, string gatewayUrl);

    [LoggerMessage(11, LogLevel.Information, "Embedded Redis-protocol store (Garnet) listening on {Endpoint}, data in {DataDirectory}")]
    public static partial void EmbeddedStore(ILogger logger, string endpoint, string dataDirectory);

    [LoggerMessage(320, LogLevel.Debug, "An event stream opened after position {Position}")]
    public static partial void EventStreamOpened(ILogger logger, long position);

    [LoggerMessage(321, LogLevel.Warning, "An event stream could not read its person's event log ({ErrorType}); it stays open and reads it again at its next keep-alive")]
    public static partial void EventLogUnavailable(ILogger logger, string errorType);

    [LoggerMessage(322, LogLevel.Warning, "A deleted grant could not be announced to the other instances ({ErrorType}); their event streams of that person end at their next keep-alive")]
    public static partial void StreamEndNotPublished(ILogger logger, string errorType);

    [LoggerMessage(12, LogLevel.Information, "Webex answered 401; replaying the request with a refreshed token")]
    public static partial void Replaying(ILogger logger);

    [LoggerMessage(13, LogLevel.Information, "Webex answered 401 to a request whose body cannot be replayed; refreshed so the client can retry")]
    public static partial void NotReplayable(ILogger logger);

    [LoggerMessage(175, LogLevel.Information, "A request body that cannot be replayed goes with a token expiring at {ExpiresAt:o}, within Gateway:UploadRefreshWindow; refreshing it first")]
    public static partial void RefreshingBeforeUpload(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(14, LogLevel.Warning, "Redis is unavailable ({ErrorType}); serving a {Kind} this instance read recently from memory")]
    public static partial void ServedFromMemory(ILogger logger, string kind, string errorType);

    [LoggerMessage(21, LogLevel.Information, "Every cached session and grant marked stale ({Reason}): each is read from Redis again at its next use")]
    public static partial void CacheMarkedStale(ILogger logger, string reason);

    [LoggerMessage(15, LogLevel.Warning, "Could not renew a session in Redis ({ErrorType}); it keeps its previous expiry")]
    public static partial void SessionRenewFailed(ILogger logger, string errorType);

    [LoggerMessage(16, LogLevel.Information, "Keep-alive: {Count} grant(s) whose refresh token expires within {Window} refreshed ({Failed} failed)")]
    public static partial void KeepAliveRan(ILogger logger, int count, TimeSpan window, int failed);

    [LoggerMessage(17, LogLevel.Warning, "Keep-alive run failed ({ErrorType}); it runs again at the next interval")]
    public static partial void KeepAliveFailed(ILogger logger, string errorType);

    [LoggerMessage(18, LogLevel.Information, "Waiting for {Count} token refresh(es) to finish before shutting down")]
    public static partial void DrainingRefreshes(ILogger logger, int count);

    [LoggerMessage(19, LogLevel.Error, "Webex answered 401 to the token of the bot '{Bot}': it is invalid or was revoked; answering 502. Check Webex:Bots:{Bot}:Token")]
    public static partial void BotTokenRejected(ILogger logger, string bot);

    [LoggerMessage(20, LogLevel.Warning, "The key ring could not be loaded at start-up ({ErrorType}); it is loaded on first use")]
    public static partial void StoreWarmUpFailed(ILogger logger, string errorType);

    [LoggerMessage(130, LogLevel.Error, "The key ring in Redis holds key {KeyId} whose secret is not encrypted with the certificate of DataProtection:CertificatePath: the key is ignored and this instance reports not ready. No gateway with the certificate writes such a key; somebody who can write to Redis may have planted it. Remove it from the key ring list once examined")]
    public static partial void UnencryptedKeyRefused(ILogger logger, string keyId);

    [LoggerMessage(131, LogLevel.Information, "Another instance wrote the key ring's first key at the same moment: this instance uses that key, {KeyId}, and discards the one it made, {DiscardedKeyId}")]
    public static partial void FirstKeyMadeElsewhere(ILogger logger, string keyId, string discardedKeyId);

    [LoggerMessage(140, LogLevel.Warning, "A stored grant belongs to another person than the key it is stored under, and is treated as absent")]
    public static partial void GrantOfAnotherPerson(ILogger logger);

    [LoggerMessage(141, LogLevel.Information, "A grant stored before grants were bound to their person was read and stored again, bound")]
    public static partial void GrantRebound(ILogger logger);

    [LoggerMessage(142, LogLevel.Warning, "A stored session could not be decrypted for its id ({ErrorType}): another session's record, or one from before sessions were bound to their id; treated as absent")]
    public static partial void UnreadableSession(ILogger logger, string errorType);

    [LoggerMessage(143, LogLevel.Information, "Keep-alive: {Count} index entr(ies) of grants that no longer exist removed")]
    public static partial void KeepAliveForgot(ILogger logger, int count);

    [LoggerMessage(144, LogLevel.Information, "A sign-in was granted fewer scopes than the person's grant holds ({Missing} missing); asking Webex again for all of them")]
    public static partial void AskingForAllScopes(ILogger logger, int missing);

    [LoggerMessage(120, LogLevel.Warning, "A grant was written to the primary, but only {Acknowledged} of {Requested} replicas confirmed it within {TimeoutMs} ms ({Outcome}); it is lost if the primary fails before it replicates")]
    public static partial void GrantNotReplicated(ILogger logger, int acknowledged, int requested, int timeoutMs, string outcome);

    [LoggerMessage(190, LogLevel.Warning, "A messages answer of {Length} bytes is above {Limit} bytes: it passes with its files URLs pointing at Webex, not rewritten")]
    public static partial void MessagesAnswerTooLargeToRewrite(ILogger logger, long length, int limit);

    [LoggerMessage(200, LogLevel.Warning, "The cool-downs in force could not be read from the store ({ErrorType}); announcements still apply, and the next reading is tried later")]
    public static partial void CoolDownsUnread(ILogger logger, string errorType);

    [LoggerMessage(300, LogLevel.Warning, "A stored webhook record could not be read as its webhook's ({ErrorType}) and is treated as absent")]
    public static partial void UnreadableWebhook(ILogger logger, string errorType);

    [LoggerMessage(301, LogLevel.Information, "Webhooks of a person reconciled ({Trigger}): {Kept} kept, {Created} created, {Reactivated} reactivated, {Deleted} deleted; {Skipped} pair(s) skipped for a missing scope")]
    public static partial void WebhooksReconciled(ILogger logger, string trigger, int kept, int created, int reactivated, int deleted, int skipped);

    [LoggerMessage(302, LogLevel.Warning, "Could not reconcile a person's webhooks ({Trigger}): {ErrorType} {Reason} (TrackingID {TrackingId}); tried again at the next sign-in or check")]
    public static partial void WebhooksReconcileFailed(ILogger logger, string trigger, string errorType, string? reason, string? trackingId);

    [LoggerMessage(303, LogLevel.Information, "A deleted grant's webhooks removed: {Deleted} at Webex ({Failed} could not be), and the person's records")]
    public static partial void WebhooksForgotten(ILogger logger, int deleted, int failed);

    [LoggerMessage(304, LogLevel.Warning, "Could not remove a deleted grant's webhook records ({ErrorType}); the periodic check tries again")]
    public static partial void WebhooksForgetFailed(ILogger logger, string errorType);

    [LoggerMessage(305, LogLevel.Warning, "Webex had disabled a webhook ({Resource}:{Event}) after failed deliveries; reactivated")]
    public static partial void WebhookReactivated(ILogger logger, string resource, string @event);

    [LoggerMessage(306, LogLevel.Information, "Webhook check: {People} person(s) looked at, {Reactivated} webhook(s) reactivated, {Forgotten} without a grant forgotten")]
    public static partial void WebhookCheckRan(ILogger logger, int people, int reactivated, int forgotten);

    [LoggerMessage(307, LogLevel.Warning, "Webhook check failed ({ErrorType}); it runs again at the next interval")]
    public static partial void WebhookCheckFailed(ILogger logger, string errorType);

    [LoggerMessage(308, LogLevel.Information, "A webhook delivery was refused: {Outcome} ({Reason})")]
    public static partial void WebhookRefused(ILogger logger, string outcome, string reason);

    [LoggerMessage(309, LogLevel.Warning, "A webhook delivery could not be stored ({ErrorType}); answered 503 so Webex retries")]
    public static partial void WebhookStoreUnavailable(ILogger logger, string errorType);

    [LoggerMessage(310, LogLevel.Warning, "Another instance held a person's webhook lock for too long; this reconcile ({Trigger}) is skipped")]
    public static partial void WebhookLockBusy(ILogger logger, string trigger);
}
