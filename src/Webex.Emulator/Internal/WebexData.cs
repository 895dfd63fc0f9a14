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

/// <summary>People, rooms and messages. Records are immutable and replaced under the lock, so snapshots are safe to use unlocked.</summary>
internal sealed class WebexData
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, WebexPerson> _people = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebexRoom> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebexMessage> _messages = new(StringComparer.Ordinal);
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
            _rooms[room.Id] = room;
        }

        Me = people[0];
        SeededRoomIds = rooms.Select(r => r.Id).ToArray();
    }

    public WebexPerson Me { get; }

    public IReadOnlyList<string> SeededRoomIds { get; }

    // Webex timestamps have millisecond precision.
    private DateTimeOffset Now
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

    public IReadOnlyList<WebexRoom> Rooms()
    {
        lock (_gate)
        {
            return _rooms.Values.ToArray();
        }
    }

    public WebexRoom? GetRoom(string id)
    {
        lock (_gate)
        {
            return _rooms.GetValueOrDefault(id);
        }
    }

    /// <summary>The direct room with the given person (by email), created on first use like Webex does.</summary>
    public WebexRoom DirectRoom(string email, WebexPerson? person)
    {
        lock (_gate)
        {
            var existing = _rooms.Values.FirstOrDefault(r => string.Equals(r.DirectEmail, email, StringComparison.OrdinalIgnoreCase));
            if (existing is not null)
            {
                return existing;
            }

            var now = Now;
            var room = new WebexRoom(
                WebexIds.Encode("ROOM", Guid.NewGuid()), person?.DisplayName ?? email, "direct", false, now, Me.Id, now, Me.OrgId, false, false, false, null)
            {
                DirectEmail = email,
                DirectPersonId = person?.Id,
            };
            _rooms[room.Id] = room;
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

    /// <summary>Posts a message as the signed-in person; null when the room no longer exists.</summary>
    public WebexMessage? AddMessage(string roomId, MessageDraft draft)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
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
                Me.Id,
                Me.Emails[0],
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

    public WebexMessage? GetMessage(string id)
    {
        lock (_gate)
        {
            return _messages.GetValueOrDefault(id);
        }
    }

    public bool DeleteMessage(string id)
    {
        lock (_gate)
        {
            return _messages.Remove(id);
        }
    }
}
