namespace Webex.Emulator.Internal;

/// <summary>Builds each signed-in person's world. Deterministic, so the ids are the same on every start.</summary>
internal static class Seeder
{
    private const int DefaultSeed = 20151018;
    private static readonly string[] FirstNames = ["Grace", "Alan", "Margaret", "Linus", "Barbara", "Dennis", "Frances", "Ken", "Radia", "Edsger"];
    private static readonly string[] LastNames = ["Hopper", "Turing", "Hamilton", "Torvalds", "Liskov", "Ritchie", "Allen", "Thompson", "Perlman", "Dijkstra"];
    private static readonly string[] Topics =
        ["Project Unicorn - Sprint", "Design Review", "Ops Alerts", "Release Train", "Customer Escalations", "Platform Guild", "Security Champions", "Onboarding"];

    /// <summary>
    /// Everyone who can sign in, the colleagues they have direct rooms with (shared by all), and each person's rooms
    /// (<see cref="WebexRoom.MemberId"/>). The default person's world is the same as when it was the only one.
    /// </summary>
    public static (List<WebexPerson> People, List<WebexRoom> Rooms) Seed(EmulatorSettings settings, DateTimeOffset now)
    {
        var people = settings.People.Select(p => Person(p, now.AddYears(-3), now)).ToList();
        var rooms = new List<WebexRoom>(settings.RoomCount * settings.People.Count);
        var colleagues = new Dictionary<int, EmulatorPerson>();
        for (var index = 0; index < settings.People.Count; index++)
        {
            SeedRooms(settings, now, settings.People[index], new Random(DefaultSeed + index), colleagues, people, rooms);
        }

        return (people, rooms);
    }

    private static void SeedRooms(
        EmulatorSettings settings, DateTimeOffset now, EmulatorPerson me, Random random, Dictionary<int, EmulatorPerson> colleagues, List<WebexPerson> people, List<WebexRoom> rooms)
    {
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
                // The first person's seeding creates the colleagues; everyone else has direct rooms with the same ones.
                var n = i / 5;
                var colleagueGuid = WebexIds.NewGuid(random);
                if (!colleagues.TryGetValue(n, out var colleague))
                {
                    var first = FirstNames[n % FirstNames.Length];
                    var last = LastNames[(n / FirstNames.Length + n) % LastNames.Length];
                    var email = $"{first}.{last}{(n >= FirstNames.Length ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}@example.com".ToLowerInvariant();
                    colleague = new EmulatorPerson(WebexIds.Encode("PEOPLE", colleagueGuid), $"{first} {last}", email, first, last, me.OrgId);
                    colleagues[n] = colleague;
                    people.Add(Person(colleague, created.AddDays(-30), lastActivity));
                }

                rooms.Add(new WebexRoom(id, colleague.DisplayName, "direct", false, lastActivity, me.Id, created, me.OrgId, false, false, false, null)
                {
                    MemberId = me.Id,
                    DirectEmail = colleague.Email,
                    DirectPersonId = colleague.Id,
                });
            }
            else
            {
                var topic = Topics[i % Topics.Length];
                var title = $"{topic} {i / Topics.Length + 1}";
                rooms.Add(new WebexRoom(id, title, "group", i % 7 == 3, lastActivity, me.Id, created, me.OrgId, false, false, i % 3 == 0, $"{topic} space")
                {
                    MemberId = me.Id,
                });
            }
        }
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
