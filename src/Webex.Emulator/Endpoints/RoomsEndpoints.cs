using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

internal static class RoomsEndpoints
{
    private const int DefaultMax = 100;
    private const int MaxLimit = 1000;

    public static void Map(Router router) => router
        .Map(HttpMethods.Get, "v1/rooms", ListAsync)
        .Map(HttpMethods.Post, "v1/rooms", CreateAsync)
        .Map(HttpMethods.Get, "v1/rooms/{}", GetAsync)
        .Map(HttpMethods.Put, "v1/rooms/{}", UpdateAsync)
        .Map(HttpMethods.Delete, "v1/rooms/{}", DeleteAsync);

    private static async Task ListAsync(RequestContext r)
    {
        var query = r.Http.Request.Query;
        if (!QueryParameters.TryGetMax(query, DefaultMax, MaxLimit, out var max))
        {
            await WebexErrors.BadRequestAsync(r.Http, $"max must be an integer between 1 and {MaxLimit}.");
            return;
        }

        if (!QueryParameters.TryGetOptional(query, "cursor", out var rawCursor))
        {
            await WebexErrors.BadRequestAsync(r.Http, "cursor must not be repeated.");
            return;
        }

        RoomCursor? cursor = null;
        if (rawCursor is not null && (cursor = RoomCursor.TryDecode(rawCursor)) is null)
        {
            await WebexErrors.BadRequestAsync(r.Http, "The cursor is invalid.");
            return;
        }

        // A cursor carries the filters of the first page, like Webex's.
        var filters = cursor is null ? ParseFilters(query) : new RoomFilters(cursor.SortBy, cursor.Type, cursor.TeamId, null);
        if (filters.Error is not null)
        {
            await WebexErrors.BadRequestAsync(r.Http, filters.Error);
            return;
        }

        var matching = r.State.Data.Rooms(r.Me.Id)
            .Where(room => filters.Type is null || room.Type == filters.Type)
            .Where(_ => filters.TeamId is null) // no seeded room belongs to a team
            .Select(room => (Key: SortKey(room, filters.SortBy), Room: room))
            .Where(x => cursor is null || x.Key > cursor.Key || (x.Key == cursor.Key && string.CompareOrdinal(x.Room.Id, cursor.Id) > 0))
            .OrderBy(x => x.Key)
            .ThenBy(x => x.Room.Id, StringComparer.Ordinal)
            .Take(max + 1)
            .ToList();

        if (matching.Count > max)
        {
            var last = matching[max - 1];
            var next = new RoomCursor(filters.SortBy, filters.Type, filters.TeamId, last.Key, last.Room.Id).Encode();
            r.Http.Response.Headers.Link = $"<{r.BaseUrl}/v1/rooms?max={max}&cursor={Uri.EscapeDataString(next)}>; rel=\"next\"";
            matching.RemoveAt(max);
        }

        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, new ItemsResponse<WebexRoom>(matching.ConvertAll(x => x.Room)));
    }

    private static Task GetAsync(RequestContext r) =>
        r.State.Data.GetRoom(r.Me.Id, r.Args[0]) is { } room
            ? WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, room)
            : WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");

    /// <summary>A group room with the caller as its only member; its members' <c>rooms</c> webhooks hear of it.</summary>
    private static async Task CreateAsync(RequestContext r)
    {
        if (await RoomFieldsAsync(r) is not { } fields)
        {
            return;
        }

        var room = r.State.Data.CreateRoom(r.Me, fields.Title, fields.IsLocked ?? false, fields.IsPublic ?? false, fields.Description, fields.IsAnnouncementOnly ?? false);
        Publish(r, "created", room);
        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, room);
    }

    /// <summary>A room's title and settings changed by a member (by a moderator when it is locked).</summary>
    private static async Task UpdateAsync(RequestContext r)
    {
        if (await RoomFieldsAsync(r) is not { } fields)
        {
            return;
        }

        var room = r.State.Data.UpdateRoom(r.Me.Id, r.Args[0], room => room with
        {
            Title = room.Type == "direct" ? room.Title : fields.Title,
            IsLocked = fields.IsLocked ?? room.IsLocked,
            IsPublic = fields.IsPublic ?? room.IsPublic,
            Description = fields.Description ?? room.Description,
            IsAnnouncementOnly = fields.IsAnnouncementOnly ?? room.IsAnnouncementOnly,
        }, out var forbidden);
        if (room is null)
        {
            await (forbidden
                ? WebexErrors.WriteAsync(r.Http, StatusCodes.Status403Forbidden, "The request is understood, but it has been refused or access is not allowed.", "Only a moderator may change a locked room.")
                : WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID."));
            return;
        }

        Publish(r, "updated", room);
        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, room);
    }

    /// <summary>
    /// 204 whether the room was deleted or, for a member who does not moderate a locked room, only left: Webex answers
    /// both alike. Every membership it ended is announced to the room's members before (the rooms resource has no
    /// deleted event).
    /// </summary>
    private static Task DeleteAsync(RequestContext r)
    {
        if (r.State.Data.DeleteRoom(r.Me.Id, r.Args[0], out _, out var ended, out var membersBefore) is null)
        {
            return WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");
        }

        foreach (var membership in ended)
        {
            r.State.Deliverer.Publish(new WebhookEvent(
                "memberships", "deleted", r.Me.Id, membership.RoomId, membership.RoomType, membership.PersonId, membership.PersonEmail, membership, membersBefore));
        }

        r.Http.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    private sealed record RoomFields(string Title, bool? IsLocked, bool? IsPublic, string? Description, bool? IsAnnouncementOnly);

    /// <summary>
    /// The fields of a room to create or update, or null after answering 400 or 404. The emulator has no teams and no
    /// classifications, so every <c>teamId</c> is one Webex cannot find and every <c>classificationId</c> is invalid; only a
    /// compliance officer may set a room read-only, and the emulator has none.
    /// </summary>
    private static async Task<RoomFields?> RoomFieldsAsync(RequestContext r)
    {
        if (await JsonFields.ReadAsync(r) is not { } body)
        {
            return null;
        }

        var title = body.String("title", required: true);
        var fields = new RoomFields(title ?? "", body.Boolean("isLocked"), body.Boolean("isPublic"), body.String("description"), body.Boolean("isAnnouncementOnly"));
        if (fields.IsPublic == true && fields.Description is null)
        {
            body.Reject("description must be filled in when isPublic is true.");
        }

        if (body.String("classificationId") is not null)
        {
            body.Reject("classificationId is not a classification of the organization.");
        }

        if (body.Boolean("isReadOnly") == true)
        {
            body.Reject("Only a compliance officer may set a room read-only.");
        }

        var teamId = body.String("teamId");
        if (body.Error is not null)
        {
            await body.BadRequestAsync(r.Http);
            return null;
        }

        if (teamId is not null)
        {
            await WebexErrors.NotFoundAsync(r.Http, "Could not find a team with provided ID.");
            return null;
        }

        return fields;
    }

    /// <summary>Tells the webhooks of the room's members; the data is the room, as Webex sends it.</summary>
    private static void Publish(RequestContext r, string @event, WebexRoom room) =>
        r.State.Deliverer.Publish(new WebhookEvent(
            "rooms", @event, r.Me.Id, room.Id, room.Type, r.Me.Id, r.Me.Emails[0], room, r.State.Data.MemberIds(room.Id)));

    private static RoomFilters ParseFilters(IQueryCollection query)
    {
        if (!QueryParameters.TryGetOptional(query, "sortBy", out var sortBy)
            || !QueryParameters.TryGetOptional(query, "type", out var type)
            || !QueryParameters.TryGetOptional(query, "teamId", out var teamId))
        {
            return new RoomFilters("", null, null, "sortBy, type and teamId must not be repeated.");
        }

        sortBy = sortBy?.ToLowerInvariant() ?? "lastactivity";
        if (sortBy is not ("id" or "lastactivity" or "created"))
        {
            return new RoomFilters("", null, null, "sortBy must be one of id, lastactivity or created.");
        }

        if (type is not (null or "direct" or "group"))
        {
            return new RoomFilters("", null, null, "type must be direct or group.");
        }

        return new RoomFilters(sortBy, type, string.IsNullOrEmpty(teamId) ? null : teamId, null);
    }

    // Ascending key then id: "id" sorts by id alone, the date sorts are newest first.
    private static long SortKey(WebexRoom room, string sortBy) => sortBy switch
    {
        "created" => -room.Created.UtcTicks,
        "lastactivity" => -room.LastActivity.UtcTicks,
        _ => 0,
    };

    private sealed record RoomFilters(string SortBy, string? Type, string? TeamId, string? Error);

    /// <summary>Keyset position: the last room returned and the filters in force; opaque (base64url JSON) to clients.</summary>
    private sealed record RoomCursor(string SortBy, string? Type, string? TeamId, long Key, string Id)
    {
        public string Encode() => PageCursor.Encode(this);

        public static RoomCursor? TryDecode(string value) =>
            PageCursor.TryDecode<RoomCursor>(value) is { SortBy: "id" or "lastactivity" or "created", Type: null or "direct" or "group", Id: not null } cursor
                ? cursor
                : null;
    }
}
