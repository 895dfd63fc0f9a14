using System.ComponentModel.DataAnnotations;

namespace WebexGateway.Configuration;

/// <summary>The <c>Webex</c> section: where Webex lives and who the gateway is to it.</summary>
public sealed class WebexOptions
{
    public const string Section = "Webex";

    public string BaseUrl { get; set; } = "https://webexapis.com";

    /// <summary>Derived from <see cref="BaseUrl"/> when not set.</summary>
    public string? AuthorizeUrl { get; set; }

    /// <summary>Derived from <see cref="BaseUrl"/> when not set.</summary>
    public string? TokenUrl { get; set; }

    /// <summary>The upstream of <c>/webex/*</c>; derived from <see cref="BaseUrl"/> when not set.</summary>
    public string? ApiUrl { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    public string Scopes { get; set; } = "spark:people_read";

    /// <summary>
    /// Space-separated: the scopes <c>/auth/login?scope=...</c> may ask for beyond <see cref="Scopes"/>. Empty: none beyond them.
    /// </summary>
    public string? AllowedScopes { get; set; }

    /// <summary>
    /// Bots whose tokens bot routes send (<c>Webex:Bots:&lt;name&gt;:Token</c>): a Webex bot's access token, which never
    /// expires and is never refreshed. Never in gateway.json: environment or user-secrets.
    /// </summary>
    public Dictionary<string, BotOptions> Bots { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>When empty, the callback URL is built from the request (Development only).</summary>
    public string? RedirectUri { get; set; }

    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long one call to the token endpoint may take.</summary>
    public TimeSpan TokenRequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public IEnumerable<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Every scope a login may ask for: <see cref="Scopes"/> and <see cref="AllowedScopes"/>.</summary>
    public IReadOnlySet<string> AllowedScopeSet => ScopeList
        .Concat((AllowedScopes ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>The configured token of the bot, or null (bot names are case-insensitive, like every configuration key).</summary>
    public string? BotToken(string name) => Bots.FirstOrDefault(b => string.Equals(b.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.Token;
}

/// <summary>One entry of <c>Webex:Bots</c>.</summary>
public sealed class BotOptions
{
    /// <summary>The bot's access token, from developer.webex.com. Sent as the Bearer of the bot's routes; never logged.</summary>
    public string? Token { get; set; }

    /// <summary>Never the token.</summary>
    public override string ToString() => "BotOptions";
}

/// <summary>The <c>Redis</c> section.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis syntax; empty starts the embedded store.</summary>
    public string ConnectionString { get; set; } = "";

    public string KeyPrefix { get; set; } = "webex-gateway:";

    /// <summary>
    /// A CA certificate (PEM or DER) that issued the Redis server's TLS certificate, when the machine does not trust it
    /// already (<c>ssl=true</c> in the connection string).
    /// </summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>Where the embedded store keeps its data; relative paths are under the content root.</summary>
    public string DataDirectory { get; set; } = ".gateway-data/redis";

    /// <summary>
    /// While Redis is unreachable, sessions and grants this instance read within this window are served from memory
    /// (grants only while their access token is valid). Zero turns it off.
    /// </summary>
    public TimeSpan MemoryFallback { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Every write and delete is announced to the other instances at once; this bounds how long an instance serves a
    /// session or grant it decoded once it may have missed such an announcement (its subscription not made yet, dropped,
    /// or losing messages).
    /// </summary>
    public TimeSpan CacheLifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an instance serves a session or grant it decoded without reading Redis again while it hears every
    /// announcement; never shorter than <see cref="CacheLifetime"/>. Bounds what no announcement tells: a key changed in
    /// Redis by anything but a gateway.
    /// </summary>
    public TimeSpan CacheLifetimeWhileSubscribed { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The lifetime of a cached record while the instance hears every announcement.</summary>
    public TimeSpan SubscribedCacheLifetime => CacheLifetimeWhileSubscribed > CacheLifetime ? CacheLifetimeWhileSubscribed : CacheLifetime;

    /// <summary>
    /// When above 0, each grant write is followed by <c>WAIT</c> for this many replicas, so a grant acknowledged
    /// before a Sentinel failover is on the replica that gets promoted. Fewer acknowledgements log a warning.
    /// </summary>
    public int WaitForReplicas { get; set; }
}

/// <summary>The <c>Session</c> section: how long a browser stays signed in.</summary>
public sealed class SessionLifetimeOptions
{
    public const string Section = "Session";

    /// <summary>A session unused for this long ends.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>A session ends this long after sign-in, however busy.</summary>
    public TimeSpan AbsoluteLifetime { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>The <c>DataProtection</c> section: the key ring that encrypts cookies and grants.</summary>
public sealed class KeyRingOptions
{
    public const string Section = "DataProtection";

    /// <summary>A PFX certificate whose key encrypts the key ring at rest in Redis. Recommended in production.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }
}

/// <summary>The <c>Gateway</c> section.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    [Range(0, 64 * 1024 * 1024)]
    public long MaxReplayBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The largest body of a message with a file (<c>POST /v1/messages</c>, <c>multipart/form-data</c>) streamed to Webex:
    /// Webex's own limit. Every other call keeps Kestrel's limit (30,000,000 bytes unless configured).
    /// </summary>
    public long MaxUploadBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary>
    /// A body that cannot be replayed (chunked, or above <see cref="MaxReplayBodyBytes"/>) is sent with a token refreshed
    /// first when it expires within this (or within <c>Webex:RefreshBeforeExpiry</c>, whichever is longer): a 401 after
    /// a long upload cannot be answered by a replay.
    /// </summary>
    public TimeSpan UploadRefreshWindow { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How often one instance looks for grants whose refresh token would lapse unused.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A grant whose refresh token expires within this is refreshed by the keep-alive.</summary>
    public TimeSpan KeepAliveWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Origins (<c>https://app.example.com</c>) whose scripts may call <c>/auth/*</c> and the Webex routes with credentials.
    /// Empty: same-origin only. <c>*</c> is refused: a wildcard cannot go with credentials.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Frontend apps served from a folder, each under its own path: same-origin with <c>/webex/*</c>, one sign-in for all.</summary>
    public Dictionary<string, StaticApp> StaticApps { get; set; } = [];
}

/// <summary>One entry of <c>Gateway:StaticApps</c>.</summary>
public sealed class StaticApp
{
    /// <summary>Where the app is served, such as <c>/apps/rooms</c>.</summary>
    public string RequestPath { get; set; } = "";

    /// <summary>The folder with the built app (its index.html); relative paths are under the content root.</summary>
    public string Folder { get; set; } = "";
}
