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

internal sealed record WebexMembership(
    string Id,
    string RoomId,
    string PersonId,
    string PersonEmail,
    string PersonDisplayName,
    string PersonOrgId,
    bool IsModerator,
    bool IsRoomHidden,
    string RoomType,
    bool IsMonitor,
    DateTimeOffset Created);

internal sealed record WebexWebhook(
    string Id,
    string Name,
    string TargetUrl,
    string Resource,
    string Event,
    string? Filter,
    string? Secret,
    string Status,
    DateTimeOffset Created,
    string OrgId,
    string CreatedBy,
    string AppId,
    string OwnedBy)
{
    /// <summary>The integration whose token created it; only that integration's tokens (of the same person) see it.</summary>
    [JsonIgnore]
    public string ClientId { get; init; } = "";

    [JsonIgnore]
    public WebhookFilter ParsedFilter { get; init; } = WebhookFilter.None;

    /// <summary>Creation order, for listing.</summary>
    [JsonIgnore]
    public long Sequence { get; init; }
}

/// <summary>The <c>data</c> of a <c>messages</c> webhook: the message without its content, like Webex's.</summary>
internal sealed record MessageEventData(
    string Id,
    string RoomId,
    string RoomType,
    string PersonId,
    string PersonEmail,
    IReadOnlyList<string>? MentionedPeople,
    IReadOnlyList<string>? Files,
    DateTimeOffset Created);

/// <summary>The body Webex posts to a webhook's target.</summary>
internal sealed record WebhookPayload(
    string Id,
    string Name,
    string TargetUrl,
    string Resource,
    string Event,
    string? Filter,
    string OrgId,
    string CreatedBy,
    string AppId,
    string OwnedBy,
    string Status,
    DateTimeOffset Created,
    string ActorId,
    object Data);
