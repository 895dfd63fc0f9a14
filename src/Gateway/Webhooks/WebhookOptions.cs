using System.Net;
using Microsoft.Extensions.Options;

namespace WebexGateway.Webhooks;

/// <summary>One <c>resource:event</c> pair a person is subscribed to, such as <c>messages:created</c>.</summary>
public sealed record EventPair(string Resource, string Event)
{
    /// <summary>The resources the gateway subscribes to, and the scope that lets a person read each.</summary>
    private static readonly Dictionary<string, (string Scope, string[] Events)> Known = new(StringComparer.Ordinal)
    {
        ["messages"] = ("spark:messages_read", ["created", "updated", "deleted"]),
        ["memberships"] = ("spark:memberships_read", ["created", "updated", "deleted", "seen"]),
        ["rooms"] = ("spark:rooms_read", ["created", "updated"]),
    };

    /// <summary>The scope a grant needs for Webex to deliver this pair's events to its person.</summary>
    public string ReadScope => Known[Resource].Scope;

    public override string ToString() => $"{Resource}:{Event}";

    public static bool TryParse(string text, out EventPair pair)
    {
        pair = null!;
        var parts = text.Split(':');
        if (parts.Length != 2 || !Known.TryGetValue(parts[0], out var known) || !known.Events.Contains(parts[1], StringComparer.Ordinal))
        {
            return false;
        }

        pair = new EventPair(parts[0], parts[1]);
        return true;
    }

    public static string KnownPairs => string.Join(' ', Known.SelectMany(k => k.Value.Events.Select(e => $"{k.Key}:{e}")));
}

/// <summary>
/// <c>Gateway:PublicUrl</c> (where Webex reaches the gateway; live events are on when it is set) and <c>Webex:Events</c>
/// (the pairs each person is subscribed to).
/// </summary>
public sealed class WebhookOptions
{
    public const string PublicUrlKey = "Gateway:PublicUrl";
    public const string EventsKey = "Webex:Events";
    public const string DefaultEvents = "messages:created messages:deleted memberships:created memberships:deleted";

    public string? PublicUrl { get; set; }

    public string Events { get; set; } = DefaultEvents;

    /// <summary>The pairs of <see cref="Events"/>, each once, in their order; unknown ones are left out (validation refuses them).</summary>
    public IReadOnlyList<EventPair> Pairs => Events.Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select(text => EventPair.TryParse(text, out var pair) ? pair : null)
        .OfType<EventPair>()
        .Distinct()
        .ToList();

    /// <summary>
    /// https, or plain http to a loopback host only (a webhook's secret and its events would otherwise cross a network in
    /// the clear); no query, fragment or user info, since Webex appends nothing and must post to exactly this.
    /// </summary>
    public static string? PublicUrlError(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return $"{PublicUrlKey} must be an absolute https URL, such as https://gateway.example.com (got '{value}').";
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri))
        {
            return $"{PublicUrlKey} must be https: plain http is accepted only for a loopback host such as http://127.0.0.1:5080 (got '{value}').";
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || value.Contains('#') || uri.UserInfo.Length > 0)
        {
            return $"{PublicUrlKey} must be a base URL without query, fragment or user info (got '{value}').";
        }

        return null;
    }

    public static bool IsLoopback(Uri uri) => uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}

internal sealed class WebhookOptionsValidation : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.PublicUrl) && WebhookOptions.PublicUrlError(options.PublicUrl) is { } urlError)
        {
            errors.Add(urlError);
        }

        var pairs = options.Events.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (pairs.Length == 0)
        {
            errors.Add($"{WebhookOptions.EventsKey} must name at least one resource:event pair, such as {WebhookOptions.DefaultEvents}.");
        }

        foreach (var text in pairs.Where(text => !EventPair.TryParse(text, out _)))
        {
            errors.Add($"{WebhookOptions.EventsKey} names '{text}', which is not a resource:event pair the gateway subscribes to ({EventPair.KnownPairs}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
