using StackExchange.Redis;
using WebexGateway.Storage;
using Xunit.Abstractions;

namespace WebexGateway.Tests.Infrastructure;

/// <summary>
/// The Redis-protocol server the tests share: the real redis-server named by GATEWAY_TEST_REDIS (CI sets it),
/// else an embedded Garnet. Each test isolates itself with a key prefix of its own.
/// </summary>
public sealed class RedisFixture : IDisposable
{
    private readonly EmbeddedRedisServer? _embedded;

    public RedisFixture(IMessageSink diagnostics)
    {
        SystemBinaries.AnnounceTo(diagnostics);
        var external = Environment.GetEnvironmentVariable("GATEWAY_TEST_REDIS");
        if (string.IsNullOrWhiteSpace(external))
        {
            _embedded = new EmbeddedRedisServer(TempDirectory.Create("garnet"));
            ConnectionString = _embedded.ConnectionString;
            Kind = "garnet";
        }
        else
        {
            ConnectionString = external;
            Kind = "redis-server";
        }

        Redis = ConnectionMultiplexer.Connect(ConnectionString + ",allowAdmin=true");
    }

    public string ConnectionString { get; }

    public string Kind { get; }

    public IConnectionMultiplexer Redis { get; }

    public static string NewKeyPrefix() => $"test-{Guid.NewGuid():N}:";

    /// <summary>Every key under a prefix with its value as text: what somebody with access to Redis would see.</summary>
    public async Task<Dictionary<string, string>> DumpAsync(string prefix)
    {
        var dump = new Dictionary<string, string>();
        var server = Redis.GetServers().First(s => s.IsConnected && !s.IsReplica);
        await foreach (var key in server.KeysAsync(pattern: prefix + "*"))
        {
            var db = Redis.GetDatabase();
            var type = await db.KeyTypeAsync(key);
            dump[key!] = type switch
            {
                RedisType.String => (string?)await db.StringGetAsync(key) ?? "",
                RedisType.List => string.Join("\n", (await db.ListRangeAsync(key)).Select(v => (string?)v)),
                RedisType.Hash => string.Join("\n", (await db.HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}")),
                _ => type.ToString(),
            };
        }

        return dump;
    }

    public void Dispose()
    {
        Redis.Dispose();
        _embedded?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "gateway";
}

public static class TempDirectory
{
    public static string Create(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), "webex-gateway-tests", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }
}
