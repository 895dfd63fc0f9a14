using StackExchange.Redis;

namespace WebexGateway.Storage;

/// <summary>One kind of record as Redis keeps it: the stored bytes under an id, and the record they decode to.</summary>
public interface IStoredRecords<T>
    where T : class
{
    /// <summary>The bytes stored for <paramref name="id"/>; null when there are none.</summary>
    Task<RedisValue> FetchAsync(string id);

    /// <summary>The record <paramref name="stored"/> holds, or null when it cannot be read as one of <paramref name="id"/>'s.</summary>
    Task<T?> DecodeAsync(string id, byte[] stored);
}
