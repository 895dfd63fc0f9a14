using Webex.Emulator.Internal;

namespace Webex.Emulator;

/// <summary>Configuration read once by <see cref="WebexEmulator.StartAsync"/>; later changes have no effect.</summary>
public sealed class WebexEmulatorOptions
{
    /// <summary>Registered OAuth clients.</summary>
    public List<EmulatorClient> Clients { get; } = [];

    /// <summary>Initial value of <see cref="EmulatorState.Consent"/>.</summary>
    public ConsentMode Consent { get; set; } = ConsentMode.AutoApprove;

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(90);

    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Failed webhook deliveries in a row (a non-2xx answer, or no answer) after which a webhook's status becomes
    /// <c>disabled</c> and it gets nothing more until a <c>PUT</c> sets it <c>active</c> again. 5 by default.
    /// </summary>
    public int DisableWebhookAfterFailures { get; set; } = 5;

    /// <summary>Rooms seeded for each person who can sign in (each gets their own).</summary>
    public int RoomCount { get; set; } = 25;

    /// <summary>Clock for every expiry and timestamp (<see cref="EmulatorState.TokenDelay"/> always uses real time).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The default person: who signs in when <c>/v1/authorize</c> gets no <c>login_hint</c>.</summary>
    public EmulatorPerson Person { get; set; } = DefaultPerson;

    /// <summary>
    /// Further people who can sign in, each with their own seeded rooms and tokens; a client picks one with
    /// <c>login_hint=&lt;email&gt;</c> (or <c>email=</c>) at <c>/v1/authorize</c>. Empty by default. Ids and emails must be
    /// unique (and differ from <see cref="Person"/>'s); an entry equal to <see cref="Person"/> is ignored.
    /// </summary>
    public List<EmulatorPerson> People { get; } = [];

    /// <summary>Appends <paramref name="count"/> generated people (<see cref="EmulatorPerson.Generated"/>) to <see cref="People"/>.</summary>
    public WebexEmulatorOptions AddGeneratedPeople(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var first = People.Count + 1;
        for (var i = 0; i < count; i++)
        {
            People.Add(EmulatorPerson.Generated(first + i));
        }

        return this;
    }

    internal static EmulatorPerson DefaultPerson { get; } = new(
        WebexIds.Encode("PEOPLE", new Guid("4b9c6d3e-2f8a-4e71-9c15-7d0a3e5b8f21")),
        "Ada Lovelace",
        "ada.lovelace@example.com",
        "Ada",
        "Lovelace",
        WebexIds.Encode("ORGANIZATION", new Guid("96abc2aa-3dcc-11e5-a152-fe34819cdc9a")));
}
