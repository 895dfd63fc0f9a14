using System.Security.Cryptography;
using System.Text;
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

/// <summary>Why adding a membership did not happen.</summary>
internal enum MembershipRefusal
{
    None,
    RoomNotFound,
    DirectRoom,
    AlreadyMember,
}

/// <summary>
/// People, rooms, memberships and messages. A room is seeded with one signed-in person (<see cref="WebexRoom.MemberId"/>)
/// as its only member; members can add others (<c>/v1/memberships</c>). A room and its messages are invisible to
/// everyone but its members. Records are immutable and replaced under the lock, so snapshots are safe to use unlocked.
/// </summary>
internal sealed class WebexData
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, WebexPerson> _people = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebexRoom> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _roomIdsByMember = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebexMessage> _messages = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, WebexMembership>> _membersByRoom = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebexMembership> _memberships = new(StringComparer.Ordinal);
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
            return _rooms.TryGetValue(id, out var room) && IsMembersRoom(memberId, id) ? room : null;
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

    /// <summary>A group room the person creates, with them as its only member (its moderator when the room is locked).</summary>
    public WebexRoom CreateRoom(WebexPerson creator, string title, bool isLocked, bool isPublic, string? description, bool isAnnouncementOnly)
    {
        lock (_gate)
        {
            var now = Now;
            var room = new WebexRoom(
                WebexIds.Encode("ROOM", Guid.NewGuid()), title, "group", isLocked, now, creator.Id, now, creator.OrgId, isAnnouncementOnly, false, isPublic, description)
            {
                MemberId = creator.Id,
            };
            _rooms[room.Id] = room;
            AddMember(room, creator, isModerator: isLocked, now);
            return room;
        }
    }

    /// <summary>
    /// The room as <paramref name="change"/> leaves it, when it is the member's and, locked, the member moderates it;
    /// null with <paramref name="forbidden"/> false when it is not the member's.
    /// </summary>
    public WebexRoom? UpdateRoom(string memberId, string id, Func<WebexRoom, WebexRoom> change, out bool forbidden)
    {
        lock (_gate)
        {
            forbidden = false;
            if (!_rooms.TryGetValue(id, out var room) || !IsMembersRoom(memberId, id))
            {
                return null;
            }

            if (room.IsLocked && !_membersByRoom[id][memberId].IsModerator)
            {
                forbidden = true;
                return null;
            }

            return _rooms[id] = change(room);
        }
    }

    /// <summary>
    /// Deletes a room of the member's, its memberships and its messages, when the member may: every member of an unlocked
    /// room, a moderator of a locked one. As Webex does against accidental deletion, any other member only leaves it
    /// (<paramref name="left"/>). Null when the room is not the member's. The memberships it ended come with it, and the
    /// room's members before.
    /// </summary>
    public WebexRoom? DeleteRoom(string memberId, string id, out bool left, out IReadOnlyList<WebexMembership> ended,
        out IReadOnlyList<string> membersBefore)
    {
        lock (_gate)
        {
            left = false;
            ended = [];
            membersBefore = [];
            if (!_rooms.TryGetValue(id, out var room) || !IsMembersRoom(memberId, id))
            {
                return null;
            }

            var members = _membersByRoom[id];
            membersBefore = members.Keys.ToArray();
            left = room.IsLocked && !members[memberId].IsModerator;
            ended = left ? [members[memberId]] : members.Values.ToArray();
            foreach (var membership in ended)
            {
                members.Remove(membership.PersonId);
                _memberships.Remove(membership.Id);
                _roomIdsByMember[membership.PersonId].Remove(id);
            }

            if (!left)
            {
                _rooms.Remove(id);
                _membersByRoom.Remove(id);
                foreach (var message in _messages.Values.Where(m => m.RoomId == id).ToArray())
                {
                    _messages.Remove(message.Id);
                }
            }

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
            if (!_rooms.TryGetValue(roomId, out var room) || !IsMembersRoom(member.Id, roomId))
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

    /// <summary>
    /// Deletes the member's own message; null when it is not in one of the member's rooms, and <paramref name="forbidden"/>
    /// when it is someone else's.
    /// </summary>
    public WebexMessage? DeleteMessage(string memberId, string id, out bool forbidden)
    {
        lock (_gate)
        {
            forbidden = false;
            if (!_messages.TryGetValue(id, out var message) || !IsMembersRoom(memberId, message.RoomId))
            {
                return null;
            }

            forbidden = message.PersonId != memberId;
            return forbidden ? null : _messages.Remove(id) ? message : null;
        }
    }

    /// <summary>The ids of the room's members.</summary>
    public IReadOnlyList<string> MemberIds(string roomId)
    {
        lock (_gate)
        {
            return _membersByRoom.TryGetValue(roomId, out var members) ? members.Keys.ToArray() : [];
        }
    }

    /// <summary>The room's memberships, oldest first; empty unless the viewer is a member.</summary>
    public IReadOnlyList<WebexMembership> Memberships(string viewerId, string roomId)
    {
        lock (_gate)
        {
            return IsMembersRoom(viewerId, roomId) ? _membersByRoom[roomId].Values.OrderBy(m => m.Created).ThenBy(m => m.Id, StringComparer.Ordinal).ToArray() : [];
        }
    }

    /// <summary>The person's own memberships in every room they are in, oldest first.</summary>
    public IReadOnlyList<WebexMembership> MembershipsOf(string personId)
    {
        lock (_gate)
        {
            return _roomIdsByMember.TryGetValue(personId, out var ids)
                ? ids.Select(id => _membersByRoom[id][personId]).OrderBy(m => m.Created).ThenBy(m => m.Id, StringComparer.Ordinal).ToArray()
                : [];
        }
    }

    /// <summary>The membership when it exists and the viewer is a member of its room.</summary>
    public WebexMembership? GetMembership(string viewerId, string id)
    {
        lock (_gate)
        {
            return _memberships.TryGetValue(id, out var membership) && IsMembersRoom(viewerId, membership.RoomId) ? membership : null;
        }
    }

    /// <summary>Adds the person to a group room the actor is a member of.</summary>
    public WebexMembership? AddMembership(string actorId, string roomId, WebexPerson person, bool isModerator, out MembershipRefusal refusal)
    {
        lock (_gate)
        {
            refusal = !_rooms.TryGetValue(roomId, out var room) || !IsMembersRoom(actorId, roomId) ? MembershipRefusal.RoomNotFound
                : room.Type == "direct" ? MembershipRefusal.DirectRoom
                : IsMembersRoom(person.Id, roomId) ? MembershipRefusal.AlreadyMember
                : MembershipRefusal.None;
            return refusal == MembershipRefusal.None ? AddMember(room!, person, isModerator, Now) : null;
        }
    }

    /// <summary>Removes a membership of a room the actor is a member of; the room's members before the removal come with it.</summary>
    public WebexMembership? RemoveMembership(string actorId, string id, out IReadOnlyList<string> membersBefore)
    {
        lock (_gate)
        {
            membersBefore = [];
            if (!_memberships.TryGetValue(id, out var membership) || !IsMembersRoom(actorId, membership.RoomId))
            {
                return null;
            }

            var members = _membersByRoom[membership.RoomId];
            membersBefore = members.Keys.ToArray();
            members.Remove(membership.PersonId);
            _memberships.Remove(id);
            _roomIdsByMember[membership.PersonId].Remove(membership.RoomId);
            return membership;
        }
    }

    private bool IsMembersRoom(string memberId, string roomId) =>
        _membersByRoom.TryGetValue(roomId, out var members) && members.ContainsKey(memberId);

    private void AddRoom(WebexRoom room)
    {
        _rooms[room.Id] = room;
        AddMember(room, _people[room.MemberId], isModerator: false, room.Created);
    }

    private WebexMembership AddMember(WebexRoom room, WebexPerson person, bool isModerator, DateTimeOffset created)
    {
        var membership = new WebexMembership(
            MembershipId(person.Id, room.Id), room.Id, person.Id, person.Emails[0], person.DisplayName, person.OrgId, isModerator, false, room.Type, false, created);
        if (!_membersByRoom.TryGetValue(room.Id, out var members))
        {
            _membersByRoom[room.Id] = members = new Dictionary<string, WebexMembership>(StringComparer.Ordinal);
        }

        members[person.Id] = membership;
        _memberships[membership.Id] = membership;
        if (!_roomIdsByMember.TryGetValue(person.Id, out var ids))
        {
            _roomIdsByMember[person.Id] = ids = new HashSet<string>(StringComparer.Ordinal);
        }

        ids.Add(room.Id);
        return membership;
    }

    // Webex's membership id names the person and the room, so it is the same every time that person joins that room.
    private static string MembershipId(string personId, string roomId) =>
        WebexIds.Encode($"ciscospark://us/MEMBERSHIP/{GuidOf(personId)}:{GuidOf(roomId)}");

    private static Guid GuidOf(string webexId) =>
        WebexIds.TryGetGuid(webexId) ?? new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(webexId)).AsSpan(0, 16));
}
