namespace Webex.Emulator;

/// <summary>A Webex user; <see cref="WebexEmulatorOptions.Person"/> is the one who signs in.</summary>
public sealed record EmulatorPerson(string Id, string DisplayName, string Email, string FirstName, string LastName, string OrgId);
