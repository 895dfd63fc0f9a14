using System.Globalization;
using Webex.Emulator.Internal;

namespace Webex.Emulator;

/// <summary>
/// A Webex user. <see cref="WebexEmulatorOptions.Person"/> is the default one who signs in; <see cref="WebexEmulatorOptions.People"/>
/// holds the others, chosen at <c>/v1/authorize</c> with <c>login_hint=&lt;email&gt;</c>.
/// </summary>
public sealed record EmulatorPerson(string Id, string DisplayName, string Email, string FirstName, string LastName, string OrgId)
{
    /// <summary>
    /// The generated person number <paramref name="index"/> (1 or more): the same id on every call, email
    /// <c>user0001@example.com</c>, display name <c>User 0001</c>, in the default person's organization.
    /// </summary>
    public static EmulatorPerson Generated(int index)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        var number = index.ToString("D4", CultureInfo.InvariantCulture);
        var id = WebexIds.Encode("PEOPLE", WebexIds.NewGuid(new Random(unchecked(7_340_033 * index))));
        return new EmulatorPerson(id, $"User {number}", $"user{number}@example.com", "User", number, WebexEmulatorOptions.DefaultPerson.OrgId);
    }
}
