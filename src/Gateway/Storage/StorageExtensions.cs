using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using WebexGateway.Configuration;

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
        services.AddSingleton<StoreInvalidation>();
        services.AddSingleton(typeof(MemoryFallback<>));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            var dataDirectory = Path.GetFullPath(options.DataDirectory, sp.GetRequiredService<IHostEnvironment>().ContentRootPath);
            return new EmbeddedRedisServer(dataDirectory);
        });
        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            var connectionString = string.IsNullOrWhiteSpace(options.ConnectionString)
                ? sp.GetRequiredService<EmbeddedRedisServer>().ConnectionString
                : options.ConnectionString;
            var configuration = ConfigurationOptions.Parse(connectionString);
            // Start even when Redis is down, and reconnect by itself when it is back.
            configuration.AbortOnConnectFail = false;
            configuration.ConnectTimeout = Math.Min(configuration.ConnectTimeout, 2000);
            configuration.AsyncTimeout = Math.Min(configuration.AsyncTimeout, 2000);
            configuration.SyncTimeout = Math.Min(configuration.SyncTimeout, 2000);
            configuration.ClientName ??= "webex-gateway";
            // While disconnected, fail at once instead of queueing: callers answer 503 (or serve from memory) within the request.
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            return ConnectionMultiplexer.Connect(configuration);
        });

        var dataProtection = services.AddDataProtection().SetApplicationName(DataProtectionApplicationName);
        var keyRing = builder.Configuration.GetSection(KeyRingOptions.Section).Get<KeyRingOptions>();
        if (!string.IsNullOrWhiteSpace(keyRing?.CertificatePath) && File.Exists(keyRing.CertificatePath))
        {
            // The key ring is then stored encrypted: somebody who can read Redis cannot decrypt cookies or grants.
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(keyRing.CertificatePath, keyRing.CertificatePassword);
            dataProtection.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
        }

        services.AddOptions<KeyManagementOptions>()
            .Configure<IConnectionMultiplexer, RedisKeys>((options, redis, keys) =>
                options.XmlRepository = new RedisXmlRepository(() => redis.GetDatabase(), keys.DataProtectionKeys));
        return builder;
    }
}
