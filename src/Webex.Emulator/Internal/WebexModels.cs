using System.Text.Json;
using System.Text.Json.Serialization;

namespace Webex.Emulator.Internal;

// These records are serialized as-is (camelCase, nulls omitted), so their property order is the JSON order.

internal sealed record WebexPerson(
    string Id,
    IReadOnlyList<string> Emails,
    string DisplayName,
    string NickName,
    string FirstName,
    string LastName,
    string Avatar,
    string OrgId,
    DateTimeOffset Created,
    DateTimeOffset LastModified,
    DateTimeOffset LastActivity,
    string Status,
    string Type);

internal sealed record WebexRoom(
    string Id,
    string Title,
    string Type,
    bool IsLocked,
    DateTimeOffset LastActivity,
    string CreatorId,
    DateTimeOffset Created,
    string OwnerId,
    bool IsAnnouncementOnly,
    bool IsReadOnly,
    bool IsPublic,
    string? Description)
{
    /// <summary>The signed-in person whose room this is; only their tokens see it.</summary>
    [JsonIgnore]
    public string MemberId { get; init; } = "";

    /// <summary>For a direct room: the other person's email.</summary>
    [JsonIgnore]
    public string? DirectEmail { get; init; }

    /// <summary>For a direct room: the other person's id, when known.</summary>
    [JsonIgnore]
    public string? DirectPersonId { get; init; }
}

internal sealed record WebexMessage(
    string Id,
    string? ParentId,
    string RoomId,
    string RoomType,
    string? ToPersonId,
    string? ToPersonEmail,
    string? Text,
    string? Markdown,
    IReadOnlyList<string>? Files,
    JsonElement? Attachments,
    string PersonId,
    string PersonEmail,
    DateTimeOffset Created)
{
    /// <summary>Arrival order; breaks ties between messages created in the same millisecond.</summary>
    [JsonIgnore]
    public long Sequence { get; init; }
}

internal sealed record ItemsResponse<T>(IReadOnlyList<T> Items);
