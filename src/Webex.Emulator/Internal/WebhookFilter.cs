namespace Webex.Emulator.Internal;

/// <summary>
/// A webhook's <c>filter</c>: <c>key=value</c> pairs joined by <c>&amp;</c>, all of which must match. The emulator knows
/// <c>roomId</c>, <c>roomType</c>, <c>personId</c> and <c>personEmail</c> (the message's sender or the membership's person).
/// </summary>
internal sealed class WebhookFilter
{
    private static readonly string[] Keys = ["roomId", "roomType", "personId", "personEmail"];

    private readonly Dictionary<string, string> _terms;

    private WebhookFilter(Dictionary<string, string> terms) => _terms = terms;

    public static WebhookFilter None { get; } = new(new Dictionary<string, string>(StringComparer.Ordinal));

    /// <summary>The parsed filter, or null with the reason it is not one.</summary>
    public static WebhookFilter? TryParse(string? filter, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(filter))
        {
            return None;
        }

        var terms = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var term in filter.Split('&'))
        {
            var equals = term.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? term : term[..equals];
            var value = equals < 0 ? "" : Uri.UnescapeDataString(term[(equals + 1)..]);
            if (!Keys.Contains(key, StringComparer.Ordinal))
            {
                error = $"The filter key '{key}' is not supported; use {string.Join(", ", Keys)}.";
                return null;
            }

            if (value.Length == 0 || !terms.TryAdd(key, value))
            {
                error = $"The filter key '{key}' needs exactly one non-empty value.";
                return null;
            }
        }

        return new WebhookFilter(terms);
    }

    /// <summary>The room the filter is about, or null.</summary>
    public string? RoomId => _terms.GetValueOrDefault("roomId");

    public bool Matches(WebhookEvent e) =>
        Term("roomId", e.RoomId) && Term("roomType", e.RoomType) && Term("personId", e.PersonId)
        && (!_terms.TryGetValue("personEmail", out var email) || string.Equals(email, e.PersonEmail, StringComparison.OrdinalIgnoreCase));

    private bool Term(string key, string actual) => !_terms.TryGetValue(key, out var expected) || string.Equals(expected, actual, StringComparison.Ordinal);
}

/// <summary>
/// Something that happened in a room: the webhooks of <paramref name="Recipients"/> (the room's members, and a removed
/// member) that match it are told. <paramref name="PersonId"/> is the message's sender or the membership's person.
/// </summary>
internal sealed record WebhookEvent(
    string Resource,
    string Event,
    string ActorId,
    string RoomId,
    string RoomType,
    string PersonId,
    string PersonEmail,
    object Data,
    IReadOnlyCollection<string> Recipients);
