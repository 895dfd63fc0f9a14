using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;
using WebexGateway.Telemetry;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;

namespace WebexGateway.Storage;

public static class StorageExtensions
{
    /// <summary>The application name that lets every instance read every cookie and every grant.</summary>
    public const string DataProtectionApplicationName = "webex-gateway";

    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<RedisKeys>();
        services.AddSingleton<RedisLock>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            var dataDirectory = Path.GetFullPath(options.DataDirectory, sp.GetRequiredService<IHostEnvironment>().ContentRootPath);
            return new EmbeddedRedisServer(dataDirectory);
        });
        services.AddSingleton<IConnectionMultiplexer>(sp => ConnectionMultiplexer.Connect(Configuration(sp)));
        services.AddExceptionHandler<StoreUnavailableHandler>();
        services.AddHostedService<StoreWarmUp>();

        AddRecordCache(builder);
        AddKeyRing(builder);
        return builder;
    }

    /// <summary>
    /// FusionCache's memory level with its Redis backplane, and no distributed level: the store of record is the
    /// gateway's own encrypted keys. The backplane has a multiplexer of its own, so disposing the cache never closes the
    /// gateway's, and its subscription is the one <see cref="SubscriptionWatch"/> proves.
    /// </summary>
    private static void AddRecordCache(IHostApplicationBuilder builder)
    {
        // FusionCache logs each call below Warning.
        builder.Logging.AddFilter("ZiggyCreatures.Caching.Fusion", LogLevel.Warning);
        var services = builder.Services;
        services.AddSingleton<RecordCache>();
        services.AddSingleton<SubscriptionWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<SubscriptionWatch>());
        services.AddFusionCache()
            .WithoutDistributedCache()
            .WithOptions((sp, options) =>
            {
                var redis = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
                // The channel is per key prefix: gateways sharing a Redis but not a prefix never hear of each other's records.
                options.BackplaneChannelPrefix = redis.KeyPrefix + "records";
                // Never block a request on the subscription: until it is heard, SubscriptionWatch bounds staleness.
                options.WaitForInitialBackplaneSubscribe = false;
                // RecordCache counts each announcement before FusionCache acts on it.
                options.EnableSyncEventHandlersExecution = true;
                options.DefaultEntryOptions = RecordCache.EntryOptions(redis);
            })
            .WithPostSetup((sp, cache) =>
            {
                // Every failed reading counts; whether the record was then served from memory is RecordCache's to log.
                var metrics = sp.GetRequiredService<GatewayMetrics>();
                cache.Events.FailSafeActivate += (_, e) => metrics.RedisError($"read_{RecordCache.KindOf(e.Key)}");
            })
            .WithBackplane(sp => new RedisBackplane(
                Options.Create(new RedisBackplaneOptions
                {
                    ConnectionMultiplexerFactory = async () =>
                    {
                        var backplane = await ConnectionMultiplexer.ConnectAsync(Configuration(sp, "webex-gateway-backplane"));
                        sp.GetRequiredService<SubscriptionWatch>().Watch(backplane);
                        return backplane;
                    },
                }),
                sp.GetService<ILogger<RedisBackplane>>()));
    }

    private static void AddKeyRing(IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var dataProtection = services.AddDataProtection().SetApplicationName(DataProtectionApplicationName);
        var keyRing = builder.Configuration.GetSection(KeyRingOptions.Section).Get<KeyRingOptions>();
        var encrypted = !string.IsNullOrWhiteSpace(keyRing?.CertificatePath) && File.Exists(keyRing.CertificatePath);
        if (encrypted)
        {
            // The key ring is then stored encrypted: somebody who can read Redis cannot decrypt cookies or grants.
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(keyRing!.CertificatePath!, keyRing.CertificatePassword);
            dataProtection.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
        }

        // Keys without a certificate-encrypted secret were not written by a gateway that has the certificate: refused.
        services.AddSingleton(sp =>
        {
            IDatabase Database() => sp.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
            var list = sp.GetRequiredService<RedisKeys>().DataProtectionKeys;
            return new StoredKeyRing(new RedisXmlRepository(Database, list), Database, list, requireEncryptedKeys: encrypted,
                sp.GetRequiredService<ILogger<StoredKeyRing>>());
        });
        services.AddOptions<KeyManagementOptions>()
            .Configure<StoredKeyRing>((options, stored) => options.XmlRepository = stored);
        services.AddSingleton<UnknownKeyRereads>();
    }

    /// <summary>The configured Redis (or the embedded store), set up to start while Redis is down and to fail fast.</summary>
    private static ConfigurationOptions Configuration(IServiceProvider services, string clientName = "webex-gateway")
    {
        var options = services.GetRequiredService<IOptions<RedisOptions>>().Value;
        var connectionString = string.IsNullOrWhiteSpace(options.ConnectionString)
            ? services.GetRequiredService<EmbeddedRedisServer>().ConnectionString
            : options.ConnectionString;
        var configuration = ConfigurationOptions.Parse(connectionString);
        if (!string.IsNullOrWhiteSpace(options.CaCertificatePath))
        {
            // The server's certificate must chain to this CA and name the host (sslHost, else the endpoint's host).
            configuration.TrustIssuer(X509CertificateLoader.LoadCertificateFromFile(options.CaCertificatePath));
        }

        // Start even when Redis is down, and reconnect by itself when it is back.
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = Math.Min(configuration.ConnectTimeout, 2000);
        configuration.AsyncTimeout = Math.Min(configuration.AsyncTimeout, 2000);
        configuration.SyncTimeout = Math.Min(configuration.SyncTimeout, 2000);
        configuration.ReconnectRetryPolicy ??= new LinearRetry(500);
        configuration.ClientName ??= clientName;
        // The ACL the README gives holds on every Redis 7: no CLIENT SETINFO (7.2+ only), and no CONFIG GET, which
        // StackExchange.Redis sends for a few defaults but which would show passwords to whoever may run it.
        configuration.SetClientLibrary = false;
        if (configuration.CommandMap == CommandMap.Default)
        {
            configuration.CommandMap = CommandMap.Create(new HashSet<string> { "CONFIG" }, available: false);
        }
        // While disconnected, fail at once instead of queueing: callers answer 503 (or serve from memory) within the request.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        return configuration;
    }
}
