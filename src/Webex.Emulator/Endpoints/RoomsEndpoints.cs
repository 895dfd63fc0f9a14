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
        .Map(HttpMethods.Get, "v1/rooms/{}", GetAsync);

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
