using System.Collections.Concurrent;
using Webex.Emulator.Internal;

namespace Webex.Emulator;

/// <summary>Test controls and observations. Every member is safe to use while requests are in flight.</summary>
public sealed class EmulatorState
{
    private readonly Lock _requestsGate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly ConcurrentDictionary<string, PersonCounters> _counters = new(StringComparer.Ordinal);
    private volatile ConsentMode _consent;
    private volatile TokenEndpointFault _tokenFault;
    private volatile bool _rotateRefreshTokens;
    private volatile bool _recordRequests = true;
    private volatile IReadOnlySet<string> _withheldScopes = new HashSet<string>(StringComparer.Ordinal);
    private long _tokenDelayTicks;
    private int _rateLimitNextApiCalls;
    private readonly ConcurrentDictionary<(string Person, string Resource), PersonRateLimit> _personRateLimits = new();
    private int _tokenCalls;
    private int _refreshCalls;
    private int _codeExchanges;

    internal EmulatorState(EmulatorSettings settings, ConsentMode consent)
    {
        Settings = settings;
        OAuth = new OAuthStore(settings);
        Data = new WebexData(settings);
        Contents = new ContentStore();
        Webhooks = new WebhookStore();
        Deliverer = new WebhookDeliverer(Webhooks, settings);
        _consent = consent;
    }

    /// <summary>True by default; a load test turns it off so the journal does not grow without bound.</summary>
    public bool RecordRequests
    {
        get => _recordRequests;
        set => _recordRequests = value;
    }

    public ConsentMode Consent
    {
        get => _consent;
        set => _consent = value;
    }

    public TokenEndpointFault TokenFault
    {
        get => _tokenFault;
        set => _tokenFault = value;
    }

    /// <summary>How long each <c>POST /v1/access_token</c> waits (in real time) before answering.</summary>
    public TimeSpan TokenDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _tokenDelayTicks));
        set => Interlocked.Exchange(ref _tokenDelayTicks, Math.Max(0, value.Ticks));
    }

    /// <summary>
    /// False (Webex's behaviour): a refresh returns the same refresh token with its expiry renewed.
    /// True: each refresh returns a new refresh token and the old one answers invalid_grant.
    /// </summary>
    public bool RotateRefreshTokens
    {
        get => _rotateRefreshTokens;
        set => _rotateRefreshTokens = value;
    }

    /// <summary>
    /// Scopes <c>/v1/authorize</c> leaves out of every grant from now on, whatever the client asks for: a grant narrower
    /// than the request. Empty by default.
    /// </summary>
    public IReadOnlySet<string> WithheldScopes
    {
        get => _withheldScopes;
        set => _withheldScopes = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Every <c>POST /v1/access_token</c>, whatever its outcome (all people).</summary>
    public int TokenCalls => Volatile.Read(ref _tokenCalls);

    /// <summary><c>grant_type=refresh_token</c> calls, counted on arrival (all people).</summary>
    public int RefreshCalls => Volatile.Read(ref _refreshCalls);

    /// <summary><c>grant_type=authorization_code</c> calls, counted on arrival (all people).</summary>
    public int CodeExchanges => Volatile.Read(ref _codeExchanges);

    /// <summary>The default person: who signs in when <c>/v1/authorize</c> gets no <c>login_hint</c>.</summary>
    public EmulatorPerson Person => Settings.Person;

    /// <summary>Everyone who can sign in: <see cref="Person"/> first, then <see cref="WebexEmulatorOptions.People"/>.</summary>
    public IReadOnlyList<EmulatorPerson> People => Settings.People;

    /// <summary>
    /// <c>grant_type=refresh_token</c> calls presenting one of the person's refresh tokens (valid or not), counted on arrival.
    /// A refresh token the emulator never issued counts only in <see cref="RefreshCalls"/>.
    /// </summary>
    public int RefreshCallsFor(string personId) => Counters(personId) is { } c ? Volatile.Read(ref c.RefreshCalls) : 0;

    /// <summary><c>grant_type=authorization_code</c> calls presenting one of the person's codes (valid or not), counted on arrival.</summary>
    public int CodeExchangesFor(string personId) => Counters(personId) is { } c ? Volatile.Read(ref c.CodeExchanges) : 0;

    /// <summary>The person's token calls: <see cref="RefreshCallsFor"/> plus <see cref="CodeExchangesFor"/>.</summary>
    public int TokenCallsFor(string personId) => RefreshCallsFor(personId) + CodeExchangesFor(personId);

    /// <summary>The last access token issued to the person, or null.</summary>
    public string? LastAccessTokenFor(string personId) => OAuth.LastAccessTokenFor(personId);

    /// <summary>The ids of the person's seeded rooms (empty for someone who cannot sign in); the first contains both '/' and '+'.</summary>
    public IReadOnlyList<string> RoomIdsFor(string personId) => Data.SeededRoomIdsOf(personId);

    /// <summary>The next N API calls (not OAuth) answer 429 with <c>Retry-After: 2</c>.</summary>
    public int RateLimitNextApiCalls
    {
        get => Volatile.Read(ref _rateLimitNextApiCalls);
        set => Interlocked.Exchange(ref _rateLimitNextApiCalls, Math.Max(0, value));
    }

    /// <summary>
    /// The person's next <paramref name="times"/> calls to <paramref name="resource"/> (the first two segments of the
    /// path, such as <c>v1/messages</c>) answer 429 with this <c>Retry-After</c> (seconds or an HTTP date; null: none).
    /// Other people and other resources are not affected.
    /// </summary>
    public void RateLimit(string personId, string resource, string? retryAfter, int times = 1)
    {
        ArgumentNullException.ThrowIfNull(personId);
        ArgumentNullException.ThrowIfNull(resource);
        _personRateLimits[(personId, resource.Trim('/'))] = new PersonRateLimit(retryAfter, times);
    }

    /// <summary>Every request except those to the OAuth endpoints (API calls and requests outside <c>/v1</c> alike), in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requestsGate)
            {
                return _requests.ToArray();
            }
        }
    }

    /// <summary>Every access token, refresh token and authorization code ever issued.</summary>
    public IReadOnlyCollection<string> IssuedSecrets => OAuth.IssuedSecrets;

    public string? LastAccessToken => OAuth.LastAccessToken;

    /// <summary>The ids of the default person's seeded rooms; the first contains both '/' and '+'.</summary>
    public IReadOnlyList<string> RoomIds => Data.SeededRoomIds;

    internal EmulatorSettings Settings { get; }

    internal OAuthStore OAuth { get; }

    internal WebexData Data { get; }

    internal ContentStore Contents { get; }

    internal WebhookStore Webhooks { get; }

    internal WebhookDeliverer Deliverer { get; }

    /// <summary>Every webhook delivery made so far (events, forged and redelivered), in the order they completed.</summary>
    public IReadOnlyList<WebhookDelivery> WebhookDeliveries => Deliverer.Deliveries;

    /// <summary>
    /// Waits until at least <paramref name="count"/> completed deliveries match (10 s unless <paramref name="timeout"/> is
    /// given) and returns all that match; throws <see cref="TimeoutException"/> when they do not come.
    /// </summary>
    public Task<IReadOnlyList<WebhookDelivery>> WaitForWebhookDeliveriesAsync(int count, Func<WebhookDelivery, bool> match, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(match);
        return Deliverer.WaitAsync(match, count, timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>Waits until the webhook has had at least <paramref name="count"/> event deliveries (forged and redelivered ones do not count).</summary>
    public Task<IReadOnlyList<WebhookDelivery>> WaitForWebhookDeliveriesAsync(string webhookId, int count, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(webhookId);
        return WaitForWebhookDeliveriesAsync(count, d => d.WebhookId == webhookId && d.Kind == WebhookDeliveryKind.Event, timeout);
    }

    /// <summary>The person's webhooks (every integration's), oldest first.</summary>
    public IReadOnlyList<EmulatorWebhook> WebhooksOf(string personId)
    {
        ArgumentNullException.ThrowIfNull(personId);
        return Webhooks.OfPerson(personId)
            .Select(w => new EmulatorWebhook(w.Id, w.CreatedBy, w.ClientId, w.Name, w.TargetUrl, w.Resource, w.Event, w.Filter, w.Status, !string.IsNullOrEmpty(w.Secret)))
            .ToArray();
    }

    /// <summary>Sets the webhook's status to <c>disabled</c>, as Webex does after failed deliveries; false when it does not exist.</summary>
    public bool DisableWebhook(string webhookId)
    {
        ArgumentNullException.ThrowIfNull(webhookId);
        return Webhooks.SetStatus(webhookId, WebhookStore.Disabled);
    }

    /// <summary>Posts a delivery the webhook never produced to its target, now (whatever its status); returns what happened.</summary>
    public Task<WebhookDelivery> DeliverForgedAsync(string webhookId, ForgedDelivery kind = ForgedDelivery.WrongSignature, CancellationToken cancellationToken = default) =>
        Deliverer.ForgeAsync(FindWebhook(webhookId), kind, cancellationToken);

    /// <summary>Posts these exact bytes, with this <c>X-Spark-Signature</c> (null: none), to the webhook's target, now.</summary>
    public Task<WebhookDelivery> DeliverForgedAsync(string webhookId, byte[] body, string? signature, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Deliverer.SendAsync(FindWebhook(webhookId), body, signature, WebhookDeliveryKind.Forged, cancellationToken);
    }

    /// <summary>Posts an earlier delivery's exact bytes and signature to its target again, as Webex may.</summary>
    public Task<WebhookDelivery> RedeliverAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return Deliverer.RedeliverAsync(delivery, cancellationToken);
    }

    private WebexWebhook FindWebhook(string webhookId)
    {
        ArgumentNullException.ThrowIfNull(webhookId);
        return Webhooks.Find(webhookId) ?? throw new ArgumentException($"No webhook has the id {webhookId}.", nameof(webhookId));
    }

    /// <summary>A file posted with a message (multipart), by the id at the end of its <c>/v1/contents/{id}</c> URL; null when unknown.</summary>
    public EmulatorContent? Content(string contentId)
    {
        ArgumentNullException.ThrowIfNull(contentId);
        return Contents.Get(contentId) is { } c ? new EmulatorContent(c.Id, c.RoomId, c.FileName, c.ContentType, c.Length, c.Sha256) : null;
    }

    /// <summary>
    /// The next <paramref name="times"/> <c>GET</c>/<c>HEAD /v1/contents/{id}</c> of this file answer <c>423 Locked</c> with
    /// <c>Retry-After: retryAfterSeconds</c>, as Webex does while it scans a file for malware.
    /// </summary>
    public void LockContent(string contentId, int times, int retryAfterSeconds)
    {
        ArgumentNullException.ThrowIfNull(contentId);
        Contents.Lock(contentId, times, retryAfterSeconds);
    }

    /// <summary>
    /// True: the file answers <c>428 Precondition Required</c> (it cannot be scanned) unless the request carries Webex's
    /// force-download parameter <c>allow=unscannable</c>.
    /// </summary>
    public void SetUnscannable(string contentId, bool unscannable = true)
    {
        ArgumentNullException.ThrowIfNull(contentId);
        Contents.SetUnscannable(contentId, unscannable);
    }

    /// <summary>Every access token issued so far answers 401 from now on.</summary>
    public void ExpireAccessTokens() => OAuth.ExpireAccessTokens();

    /// <summary>Every access token issued so far to the person answers 401 from now on; other people's are untouched.</summary>
    public void ExpireAccessTokens(string personId)
    {
        ArgumentNullException.ThrowIfNull(personId);
        OAuth.ExpireAccessTokens(personId);
    }

    /// <summary>Every refresh token issued so far answers invalid_grant from now on.</summary>
    public void RevokeRefreshTokens() => OAuth.RevokeRefreshTokens();

    /// <summary>Clears the recorded requests, the webhook deliveries and the call counters (the per-person ones too); tokens and webhooks are kept.</summary>
    public void Reset()
    {
        lock (_requestsGate)
        {
            _requests.Clear();
        }

        Deliverer.Clear();

        Interlocked.Exchange(ref _tokenCalls, 0);
        Interlocked.Exchange(ref _refreshCalls, 0);
        Interlocked.Exchange(ref _codeExchanges, 0);
        _counters.Clear();
    }

    internal void Record(RecordedRequest request)
    {
        if (!_recordRequests)
        {
            return;
        }

        lock (_requestsGate)
        {
            _requests.Add(request);
        }
    }

    internal void CountTokenCall() => Interlocked.Increment(ref _tokenCalls);

    internal void CountRefreshCall(string? personId)
    {
        Interlocked.Increment(ref _refreshCalls);
        if (personId is not null)
        {
            Interlocked.Increment(ref _counters.GetOrAdd(personId, _ => new PersonCounters()).RefreshCalls);
        }
    }

    internal void CountCodeExchange(string? personId)
    {
        Interlocked.Increment(ref _codeExchanges);
        if (personId is not null)
        {
            Interlocked.Increment(ref _counters.GetOrAdd(personId, _ => new PersonCounters()).CodeExchanges);
        }
    }

    private PersonCounters? Counters(string personId)
    {
        ArgumentNullException.ThrowIfNull(personId);
        return _counters.GetValueOrDefault(personId);
    }

    /// <summary>Takes one unit of the rate limit; true when this call must answer 429.</summary>
    internal bool TryConsumeRateLimit()
    {
        while (true)
        {
            var remaining = Volatile.Read(ref _rateLimitNextApiCalls);
            if (remaining <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _rateLimitNextApiCalls, remaining - 1, remaining) == remaining)
            {
                return true;
            }
        }
    }

    /// <summary>Takes one unit of the person's limit on the resource; true, with its Retry-After, when this call must answer 429.</summary>
    internal bool TryConsumeRateLimit(string personId, string resource, out string? retryAfter)
    {
        retryAfter = null;
        if (_personRateLimits.IsEmpty || !_personRateLimits.TryGetValue((personId, resource), out var limit))
        {
            return false;
        }

        retryAfter = limit.RetryAfter;
        return Interlocked.Decrement(ref limit.Remaining) >= 0;
    }

    private sealed class PersonRateLimit(string? retryAfter, int times)
    {
        public readonly string? RetryAfter = retryAfter;
        public int Remaining = times;
    }

    private sealed class PersonCounters
    {
        // Fields, so Interlocked can update them.
        public int RefreshCalls;
        public int CodeExchanges;
    }
}
