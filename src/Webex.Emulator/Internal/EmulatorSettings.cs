using System.Collections.Frozen;

namespace Webex.Emulator.Internal;

/// <summary>The options as they were when the emulator started.</summary>
internal sealed class EmulatorSettings
{
    private readonly FrozenDictionary<string, EmulatorPerson> _byId;
    private readonly FrozenDictionary<string, EmulatorPerson> _byEmail;

    public EmulatorSettings(WebexEmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.Person);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.AccessTokenLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RefreshTokenLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.CodeLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(options.RoomCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DisableWebhookAfterFailures, 1);

        Clients = options.Clients
            .GroupBy(c => c.ClientId, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.Last().ClientSecret, StringComparer.Ordinal);
        AccessTokenLifetime = options.AccessTokenLifetime;
        RefreshTokenLifetime = options.RefreshTokenLifetime;
        CodeLifetime = options.CodeLifetime;
        RoomCount = options.RoomCount;
        DisableWebhookAfterFailures = options.DisableWebhookAfterFailures;
        Time = options.TimeProvider;
        Person = options.Person;
        People = SignInPeople(options);
        _byId = People.ToFrozenDictionary(p => p.Id, StringComparer.Ordinal);
        _byEmail = People.ToFrozenDictionary(p => p.Email, StringComparer.OrdinalIgnoreCase);
        OrgGuid = WebexIds.TryGetGuid(options.Person.OrgId) ?? new Guid("96abc2aa-3dcc-11e5-a152-fe34819cdc9a");
    }

    public FrozenDictionary<string, string> Clients { get; }

    public TimeSpan AccessTokenLifetime { get; }

    public TimeSpan RefreshTokenLifetime { get; }

    public TimeSpan CodeLifetime { get; }

    /// <summary>How long a consent page stays answerable.</summary>
    public TimeSpan ConsentLifetime { get; } = TimeSpan.FromMinutes(10);

    public int RoomCount { get; }

    public int DisableWebhookAfterFailures { get; }

    public TimeProvider Time { get; }

    /// <summary>The default person, who signs in without a login hint.</summary>
    public EmulatorPerson Person { get; }

    /// <summary>Everyone who can sign in: <see cref="Person"/> first, then the configured people.</summary>
    public IReadOnlyList<EmulatorPerson> People { get; }

    public Guid OrgGuid { get; }

    public EmulatorPerson? FindById(string id) => _byId.GetValueOrDefault(id);

    public EmulatorPerson? FindByEmail(string email) => _byEmail.GetValueOrDefault(email);

    private static EmulatorPerson[] SignInPeople(WebexEmulatorOptions options)
    {
        var people = new List<EmulatorPerson> { options.Person };
        var ids = new HashSet<string>(StringComparer.Ordinal) { options.Person.Id };
        var emails = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { options.Person.Email };
        foreach (var person in options.People)
        {
            ArgumentNullException.ThrowIfNull(person, nameof(options.People));
            if (person == options.Person)
            {
                continue;
            }

            if (!ids.Add(person.Id))
            {
                throw new ArgumentException($"Two people have the id {person.Id}.", nameof(options));
            }

            if (!emails.Add(person.Email))
            {
                throw new ArgumentException($"Two people have the email {person.Email}.", nameof(options));
            }

            people.Add(person);
        }

        return [.. people];
    }
}
