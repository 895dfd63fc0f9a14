using System.Runtime.CompilerServices;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Proxy;

public enum RouteTokenKind
{
    /// <summary>No <c>WebexToken</c> metadata: an app route, forwarded by YARP as it is, without a Webex token.</summary>
    None,

    /// <summary><c>WebexToken: User</c>: the signed-in user's grant, refreshed and replayed.</summary>
    User,

    /// <summary><c>WebexToken: Bot:&lt;name&gt;</c>: the configured bot token, never refreshed.</summary>
    Bot,
}

/// <summary>What a route's metadata says about the token it sends to Webex, and whether it needs a session.</summary>
public sealed record RouteToken(RouteTokenKind Kind, string? BotName, bool IsPublic)
{
    public const string TokenMetadataKey = "WebexToken";
    public const string PublicMetadataKey = "Public";
    public const string UserValue = "User";
    public const string BotPrefix = "Bot:";

    public static readonly RouteToken None = new(RouteTokenKind.None, null, false);

    public bool SendsWebexToken => Kind != RouteTokenKind.None;

    private static readonly ConditionalWeakTable<RouteConfig, RouteToken> ByRoute = [];

    /// <summary>The token of the route a request matched, read from its metadata once per route configuration.</summary>
    public static RouteToken Of(RouteModel? route)
        => route is null ? None : ByRoute.GetValue(route.Config, config => Of(config.Metadata));

    /// <summary>The route's token; a value that <see cref="TryParse"/> refuses never gets this far (start-up validation).</summary>
    public static RouteToken Of(IReadOnlyDictionary<string, string>? metadata)
    {
        // Configuration keys are case-insensitive, and start-up validation reads them so: so does this.
        if (Find(metadata, TokenMetadataKey) is not { } value)
        {
            return None;
        }

        return TryParse(value, Find(metadata, PublicMetadataKey), out var token, out _) ? token : None;
    }

    internal static string? Find(IReadOnlyDictionary<string, string>? metadata, string key) =>
        metadata is null ? null
        : metadata.TryGetValue(key, out var value) ? value
        : metadata.FirstOrDefault(m => string.Equals(m.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>Parses the metadata values; <paramref name="error"/> says what is wrong with them.</summary>
    public static bool TryParse(string? value, string? isPublic, out RouteToken token, out string? error)
    {
        token = None;
        error = null;
        var publicRoute = false;
        if (isPublic is not null && !bool.TryParse(isPublic, out publicRoute))
        {
            error = $"'{PublicMetadataKey}' must be true or false (got '{isPublic}').";
            return false;
        }

        if (value is null)
        {
            if (publicRoute)
            {
                error = $"'{PublicMetadataKey}: true' is only for bot routes ('{TokenMetadataKey}: {BotPrefix}<name>'); an app route needs neither.";
                return false;
            }

            return true;
        }

        if (string.Equals(value, UserValue, StringComparison.Ordinal))
        {
            if (publicRoute)
            {
                error = $"a '{TokenMetadataKey}: {UserValue}' route cannot be public: it needs the user's session.";
                return false;
            }

            token = new RouteToken(RouteTokenKind.User, null, false);
            return true;
        }

        if (value.StartsWith(BotPrefix, StringComparison.Ordinal) && value.Length > BotPrefix.Length)
        {
            token = new RouteToken(RouteTokenKind.Bot, value[BotPrefix.Length..].Trim(), publicRoute);
            return true;
        }

        error = $"'{TokenMetadataKey}' must be '{UserValue}' or '{BotPrefix}<name>' (got '{value}').";
        return false;
    }

    /// <summary>
    /// The literal part of a Webex route's path before its catch-all (<c>/webex</c> of <c>/webex/{**path}</c>): what is
    /// cut from the request target to make the upstream path. Null when the path is not of that form.
    /// </summary>
    public static string? PrefixOf(string? matchPath)
    {
        if (matchPath is null)
        {
            return null;
        }

        var open = matchPath.IndexOf('{', StringComparison.Ordinal);
        if (open < 0 || !matchPath[open..].StartsWith("{**", StringComparison.Ordinal) || !matchPath.EndsWith('}')
            || matchPath.IndexOf('}', StringComparison.Ordinal) != matchPath.Length - 1 || open == 0 || matchPath[open - 1] != '/')
        {
            return null;
        }

        var prefix = matchPath[..(open - 1)];
        return prefix.StartsWith('/') ? prefix : null;
    }
}
