using System.Collections.Concurrent;

namespace WebexGateway.Storage;

/// <summary>
/// Strings made from other strings once, then handed out again: a signed-in call names the same session, person and
/// token on every call, and each would otherwise make the same cache key or header again. Past <c>capacity</c> strings
/// the memory starts over. Not a <see cref="System.Runtime.CompilerServices.ConditionalWeakTable{TKey,TValue}"/>, which
/// would free each with its source: every entry of one is a dependent GC handle, which every collection scans, gen 0
/// included; with 10,000 sessions cached they made each gen-0 pause about a third longer.
/// </summary>
public sealed class DerivedStrings(Func<string, string> make, int capacity = 100_000)
{
    private readonly ConcurrentDictionary<string, string> _made = new(StringComparer.Ordinal);

    public string Of(string source)
    {
        if (_made.TryGetValue(source, out var made))
        {
            return made;
        }

        if (_made.Count >= capacity)
        {
            _made.Clear();
        }

        return _made.GetOrAdd(source, make);
    }
}
