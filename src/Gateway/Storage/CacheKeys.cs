using System.Runtime.CompilerServices;

namespace WebexGateway.Storage;

/// <summary>
/// Keys of one kind of record in the <see cref="RecordCache"/> (<c>prefix + id + suffix</c>), each made once per id string rather
/// than on every look-up: a signed-in call reads its session id and person id from cached records, the same strings on
/// every call. A key is kept no longer than its id string.
/// </summary>
public sealed class CacheKeys(string prefix, string suffix = "")
{
    private readonly ConditionalWeakTable<string, string> _keys = [];

    public string Of(string id) => _keys.TryGetValue(id, out var key) ? key : _keys.GetValue(id, id => prefix + id + suffix);
}
