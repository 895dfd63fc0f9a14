using System.Collections.Frozen;

namespace Webex.Emulator.Internal;

/// <summary>The options as they were when the emulator started.</summary>
internal sealed class EmulatorSettings
{
    public EmulatorSettings(WebexEmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.Person);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.AccessTokenLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RefreshTokenLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.CodeLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(options.RoomCount);

        Clients = options.Clients
            .GroupBy(c => c.ClientId, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.Last().ClientSecret, StringComparer.Ordinal);
        AccessTokenLifetime = options.AccessTokenLifetime;
        RefreshTokenLifetime = options.RefreshTokenLifetime;
        CodeLifetime = options.CodeLifetime;
        RoomCount = options.RoomCount;
        Time = options.TimeProvider;
        Person = options.Person;
        OrgGuid = WebexIds.TryGetGuid(options.Person.OrgId) ?? new Guid("96abc2aa-3dcc-11e5-a152-fe34819cdc9a");
    }

    public FrozenDictionary<string, string> Clients { get; }

    public TimeSpan AccessTokenLifetime { get; }

    public TimeSpan RefreshTokenLifetime { get; }

    public TimeSpan CodeLifetime { get; }

    /// <summary>How long a consent page stays answerable.</summary>
    public TimeSpan ConsentLifetime { get; } = TimeSpan.FromMinutes(10);

    public int RoomCount { get; }

    public TimeProvider Time { get; }

    public EmulatorPerson Person { get; }

    public Guid OrgGuid { get; }
}
