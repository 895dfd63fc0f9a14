using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Memory;
using ZiggyCreatures.Caching.Fusion;

namespace WebexGateway.Micro;

/// <summary>
/// What a signed-in call's two look-ups cost (its session, then its grant), one user's over and over or 10,000
/// sessions' round-robin: FusionCache's TryGet, the MemoryCache under it, and a plain dictionary.
/// </summary>
[MemoryDiagnoser]
public class RecordLookups
{
    private readonly string[] _keys = [.. Enumerable.Range(0, 20_000).Select(i => $"session:{Guid.NewGuid():N}{i:D8}")];
    private FusionCache _fusion = null!;
    private MemoryCache _memory = null!;
    private ConcurrentDictionary<string, object> _dictionary = null!;
    private int _next;

    [Params(1, 20_000)]
    public int Records { get; set; }

    [GlobalSetup]
    public void Fill()
    {
        _fusion = new FusionCache(new FusionCacheOptions { DefaultEntryOptions = new() { Duration = TimeSpan.FromHours(1) } });
        _memory = new MemoryCache(new MemoryCacheOptions());
        _dictionary = new ConcurrentDictionary<string, object>(StringComparer.Ordinal);
        foreach (var key in _keys.Take(Records))
        {
            _fusion.Set(key, new object());
            _memory.Set(key, new object(), TimeSpan.FromHours(1));
            _dictionary[key] = new object();
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _fusion.Dispose();
        _memory.Dispose();
    }

    [Benchmark(Baseline = true)]
    public bool FusionCache_TryGet() => _fusion.TryGet<object>(NextKey()).HasValue & _fusion.TryGet<object>(NextKey()).HasValue;

    [Benchmark]
    public bool MemoryCache_TryGetValue() => _memory.TryGetValue(NextKey(), out _) & _memory.TryGetValue(NextKey(), out _);

    [Benchmark]
    public bool Dictionary_TryGetValue() => _dictionary.TryGetValue(NextKey(), out _) & _dictionary.TryGetValue(NextKey(), out _);

    private string NextKey()
    {
        var next = _next + 1;
        _next = next == Records ? 0 : next;
        return _keys[_next];
    }
}
