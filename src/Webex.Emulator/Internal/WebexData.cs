using System.Text.Json;

namespace Webex.Emulator.Internal;

internal sealed record MessageDraft(
    string? ParentId,
    string? ToPersonId,
    string? ToPersonEmail,
    string? Text,
    string? Markdown,
    IReadOnlyList<string>? Files,
    JsonElement? Attachments);

/// <summary>
/// People, rooms and messages. Each room belongs to one signed-in person (<see cref="WebexRoom.MemberId"/>) and is
/// invisible to everyone else's tokens, like the messages in it. Records are immutable and replaced under the lock, so
/// snapshots are safe to use unlocked.
/// </summary>
internal sealed class WebexData
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, WebexPerson> _people = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebexRoom> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _roomIdsByMember = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebexMessage> _messages = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>> _seededRoomIds;
    private long _sequence;

    public WebexData(EmulatorSettings settings)
    {
        _time = settings.Time;
        var (people, rooms) = Seeder.Seed(settings, Now);
        foreach (var person in people)
        {
            _people[person.Id] = person;
        }

        foreach (var room in rooms)
        {
            AddRoom(room);
        }

        Me = people[0];
        _seededRoomIds = settings.People.ToDictionary(
            p => p.Id, p => (IReadOnlyList<string>)rooms.Where(r => r.MemberId == p.Id).Select(r => r.Id).ToArray(), StringComparer.Ordinal);
        SeededRoomIds = _seededRoomIds[Me.Id];
    }

    /// <summary>The default person.</summary>
    public WebexPerson Me { get; }

    /// <summary>The default person's seeded rooms.</summary>
    public IReadOnlyList<string> SeededRoomIds { get; }

    /// <summary>A signed-in person's seeded rooms; empty for anyone else.</summary>
    public IReadOnlyList<string> SeededRoomIdsOf(string personId) => _seededRoomIds.GetValueOrDefault(personId) ?? [];

    /// <summary>The time now, to Webex's millisecond precision.</summary>
    public DateTimeOffset Now
    {
        get
        {
            var now = _time.GetUtcNow();
            return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        }
    }

    public WebexPerson? GetPerson(string id)
    {
        lock (_gate)
        {
            return _people.GetValueOrDefault(id);
        }
    }

    /// <summary>The member's rooms.</summary>
    public IReadOnlyList<WebexRoom> Rooms(string memberId)
    {
        lock (_gate)
        {
            return _roomIdsByMember.TryGetValue(memberId, out var ids) ? ids.Select(id => _rooms[id]).ToArray() : [];
        }
    }

    /// <summary>The room when it exists and is the member's.</summary>
    public WebexRoom? GetRoom(string memberId, string id)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(id, out var room) && room.MemberId == memberId ? room : null;
        }
    }

    /// <summary>The member's direct room with the given person (by email), created on first use like Webex does.</summary>
    public WebexRoom DirectRoom(WebexPerson member, string email, WebexPerson? person)
    {
        lock (_gate)
        {
            var existing = _roomIdsByMember.TryGetValue(member.Id, out var ids)
                ? ids.Select(id => _rooms[id]).FirstOrDefault(r => string.Equals(r.DirectEmail, email, StringComparison.OrdinalIgnoreCase))
                : null;
            if (existing is not null)
            {
                return existing;
            }

            var now = Now;
            var room = new WebexRoom(
                WebexIds.Encode("ROOM", Guid.NewGuid()), person?.DisplayName ?? email, "direct", false, now, member.Id, now, member.OrgId, false, false, false, null)
            {
                MemberId = member.Id,
                DirectEmail = email,
                DirectPersonId = person?.Id,
            };
            AddRoom(room);
            return room;
        }
    }

    public WebexPerson? FindPersonByEmail(string email)
    {
        lock (_gate)
        {
            return _people.Values.FirstOrDefault(p => p.Emails.Contains(email, StringComparer.OrdinalIgnoreCase));
        }
    }

    /// <summary>Posts a message as the member; null when the room no longer exists or is not the member's.</summary>
    public WebexMessage? AddMessage(WebexPerson member, string roomId, MessageDraft draft)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room) || room.MemberId != member.Id)
            {
                return null;
            }

            var now = Now;
            var message = new WebexMessage(
                WebexIds.Encode("MESSAGE", Guid.NewGuid()),
                draft.ParentId,
                room.Id,
                room.Type,
                draft.ToPersonId,
                draft.ToPersonEmail,
                draft.Text,
                draft.Markdown,
                draft.Files,
                draft.Attachments,
                member.Id,
                member.Emails[0],
                now)
            {
                Sequence = ++_sequence,
            };
            _messages[message.Id] = message;
            _rooms[room.Id] = room with { LastActivity = now };
            return message;
        }
    }

    /// <summary>The room's messages, newest first.</summary>
    public IReadOnlyList<WebexMessage> Messages(string roomId)
    {
        lock (_gate)
        {
            return _messages.Values.Where(m => m.RoomId == roomId).OrderByDescending(m => m.Sequence).ToArray();
        }
    }

    /// <summary>The message when it exists and is in one of the member's rooms.</summary>
    public WebexMessage? GetMessage(string memberId, string id)
    {
        lock (_gate)
        {
            return _messages.TryGetValue(id, out var message) && IsMembersRoom(memberId, message.RoomId) ? message : null;
        }
    }

    /// <summary>Deletes the message when it exists and is in one of the member's rooms.</summary>
    public bool DeleteMessage(string memberId, string id)
    {
        lock (_gate)
        {
            return _messages.TryGetValue(id, out var message) && IsMembersRoom(memberId, message.RoomId) && _messages.Remove(id);
        }
    }

    private bool IsMembersRoom(string memberId, string roomId) => _rooms.TryGetValue(roomId, out var room) && room.MemberId == memberId;

    private void AddRoom(WebexRoom room)
    {
        _rooms[room.Id] = room;
        if (!_roomIdsByMember.TryGetValue(room.MemberId, out var ids))
        {
            _roomIdsByMember[room.MemberId] = ids = new HashSet<string>(StringComparer.Ordinal);
        }

        ids.Add(room.Id);
    }
}
