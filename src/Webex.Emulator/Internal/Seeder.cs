namespace Webex.Emulator.Internal;

/// <summary>Builds the signed-in person's world. Deterministic, so the ids are the same on every start.</summary>
internal static class Seeder
{
    private static readonly string[] FirstNames = ["Grace", "Alan", "Margaret", "Linus", "Barbara", "Dennis", "Frances", "Ken", "Radia", "Edsger"];
    private static readonly string[] LastNames = ["Hopper", "Turing", "Hamilton", "Torvalds", "Liskov", "Ritchie", "Allen", "Thompson", "Perlman", "Dijkstra"];
    private static readonly string[] Topics =
        ["Project Unicorn - Sprint", "Design Review", "Ops Alerts", "Release Train", "Customer Escalations", "Platform Guild", "Security Champions", "Onboarding"];

    public static (List<WebexPerson> People, List<WebexRoom> Rooms) Seed(EmulatorSettings settings, DateTimeOffset now)
    {
        var random = new Random(20151018);
        var me = settings.Person;
        var people = new List<WebexPerson> { Person(me, now.AddYears(-3), now) };
        var rooms = new List<WebexRoom>(settings.RoomCount);
        var start = now.AddDays(-settings.RoomCount - 1);

        for (var i = 0; i < settings.RoomCount; i++)
        {
            var created = start.AddDays(i).AddMinutes(random.Next(0, 600)).AddMilliseconds(random.Next(0, 1000));
            var lastActivity = created.AddMinutes(random.Next(1, 60 * 24 * (settings.RoomCount - i)));
            if (lastActivity > now)
            {
                lastActivity = now.AddSeconds(-i - 1);
            }

            var guid = WebexIds.NewGuid(random);

            // Room 0's id contains both '/' and '+' so tests can check percent-encoded paths: text that is only hex
            // digits and dashes never encodes to either, '~' and '?' do when they end a 3-byte group (57 = 3 * 19).
            var id = i == 0 ? WebexIds.Encode($"ciscospark://us/ROOM/{guid}?a~&b?") : WebexIds.Encode("ROOM", guid);

            if (i % 5 == 4)
            {
                var n = i / 5;
                var first = FirstNames[n % FirstNames.Length];
                var last = LastNames[(n / FirstNames.Length + n) % LastNames.Length];
                var email = $"{first}.{last}{(n >= FirstNames.Length ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}@example.com".ToLowerInvariant();
                var colleague = new EmulatorPerson(WebexIds.Encode("PEOPLE", WebexIds.NewGuid(random)), $"{first} {last}", email, first, last, me.OrgId);
                people.Add(Person(colleague, created.AddDays(-30), lastActivity));
                rooms.Add(new WebexRoom(id, colleague.DisplayName, "direct", false, lastActivity, me.Id, created, me.OrgId, false, false, false, null)
                {
                    DirectEmail = colleague.Email,
                    DirectPersonId = colleague.Id,
                });
            }
            else
            {
                var topic = Topics[i % Topics.Length];
                var title = $"{topic} {i / Topics.Length + 1}";
                rooms.Add(new WebexRoom(id, title, "group", i % 7 == 3, lastActivity, me.Id, created, me.OrgId, false, false, i % 3 == 0, $"{topic} space"));
            }
        }

        return (people, rooms);
    }

    public static WebexPerson Person(EmulatorPerson person, DateTimeOffset created, DateTimeOffset lastActivity) => new(
        person.Id,
        [person.Email],
        person.DisplayName,
        person.FirstName,
        person.FirstName,
        person.LastName,
        $"https://avatar-prod-us-east-2.webexcontent.com/Avtr~V1~{WebexIds.TryGetGuid(person.OrgId) ?? Guid.Empty}/V1~{WebexIds.TryGetGuid(person.Id) ?? Guid.Empty}~1600",
        person.OrgId,
        created,
        created,
        lastActivity,
        "active",
        "person");
}
