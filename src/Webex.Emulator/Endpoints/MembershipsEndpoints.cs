using Microsoft.AspNetCore.Http;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

/// <summary>
/// <c>/v1/memberships</c>: a member of a group room adds people to it and removes them (themselves too); everyone in
/// a room sees its memberships, nobody else does.
/// </summary>
internal static class MembershipsEndpoints
{
    private const int DefaultMax = 100;
    private const int MaxLimit = 1000;

    public static void Map(Router router) => router
        .Map(HttpMethods.Get, "v1/memberships", ListAsync)
        .Map(HttpMethods.Post, "v1/memberships", CreateAsync)
        .Map(HttpMethods.Get, "v1/memberships/{}", GetAsync)
        .Map(HttpMethods.Delete, "v1/memberships/{}", DeleteAsync);

    private static async Task ListAsync(RequestContext r)
    {
        var query = r.Http.Request.Query;
        if (!QueryParameters.TryGetMax(query, DefaultMax, MaxLimit, out var max))
        {
            await WebexErrors.BadRequestAsync(r.Http, $"max must be an integer between 1 and {MaxLimit}.");
            return;
        }

        if (!QueryParameters.TryGetOptional(query, "roomId", out var roomId)
            || !QueryParameters.TryGetOptional(query, "personId", out var personId)
            || !QueryParameters.TryGetOptional(query, "personEmail", out var personEmail)
            || !QueryParameters.TryGetOptional(query, "cursor", out var rawCursor))
        {
            await WebexErrors.BadRequestAsync(r.Http, "roomId, personId, personEmail and cursor must not be repeated.");
            return;
        }

        MembershipCursor? cursor = null;
        if (rawCursor is not null)
        {
            if ((cursor = MembershipCursor.TryDecode(rawCursor)) is null)
            {
                await WebexErrors.BadRequestAsync(r.Http, "The cursor is invalid.");
                return;
            }

            // A cursor carries the filters of the first page, like Webex's.
            (roomId, personId, personEmail) = (cursor.RoomId, cursor.PersonId, cursor.PersonEmail);
        }

        if (string.IsNullOrEmpty(roomId) && (!string.IsNullOrEmpty(personId) || !string.IsNullOrEmpty(personEmail)))
        {
            await WebexErrors.BadRequestAsync(r.Http, "roomId is required when filtering by personId or personEmail.");
            return;
        }

        IReadOnlyList<WebexMembership> memberships;
        if (string.IsNullOrEmpty(roomId))
        {
            memberships = r.State.Data.MembershipsOf(r.Me.Id);
        }
        else if (r.State.Data.GetRoom(r.Me.Id, roomId) is null)
        {
            await WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");
            return;
        }
        else
        {
            memberships = r.State.Data.Memberships(r.Me.Id, roomId)
                .Where(m => string.IsNullOrEmpty(personId) || m.PersonId == personId)
                .Where(m => string.IsNullOrEmpty(personEmail) || string.Equals(m.PersonEmail, personEmail, StringComparison.OrdinalIgnoreCase))
                .ToArray();
        }

        // Oldest first, as the lists are kept: a page starts after the cursor's membership, wherever that one is now.
        var page = memberships
            .Where(m => cursor is null || m.Created > cursor.Created || (m.Created == cursor.Created && string.CompareOrdinal(m.Id, cursor.Id) > 0))
            .Take(max + 1)
            .ToList();
        if (page.Count > max)
        {
            var last = page[max - 1];
            var next = new MembershipCursor(roomId, personId, personEmail, last.Created, last.Id).Encode();
            r.Http.Response.Headers.Link = $"<{r.BaseUrl}/v1/memberships?max={max}&cursor={Uri.EscapeDataString(next)}>; rel=\"next\"";
            page.RemoveAt(max);
        }

        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, new ItemsResponse<WebexMembership>(page));
    }

    private static Task GetAsync(RequestContext r) =>
        r.State.Data.GetMembership(r.Me.Id, r.Args[0]) is { } membership
            ? WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, membership)
            : NotFoundAsync(r);

    private static async Task CreateAsync(RequestContext r)
    {
        if (await JsonFields.ReadAsync(r) is not { } body)
        {
            return;
        }

        var roomId = body.String("roomId", required: true);
        var personId = body.String("personId");
        var personEmail = body.String("personEmail");
        var isModerator = body.Boolean("isModerator") ?? false;
        if ((personId is null) == (personEmail is null))
        {
            body.Reject("Exactly one of personId or personEmail must be specified.");
        }

        if (body.Error is not null)
        {
            await body.BadRequestAsync(r.Http);
            return;
        }

        var person = personId is not null ? r.State.Data.GetPerson(personId) : r.State.Data.FindPersonByEmail(personEmail!);
        if (person is null)
        {
            await WebexErrors.NotFoundAsync(r.Http, "Could not find a person with the provided personId or personEmail.");
            return;
        }

        var membership = r.State.Data.AddMembership(r.Me.Id, roomId!, person, isModerator, out var refusal);
        switch (refusal)
        {
            case MembershipRefusal.RoomNotFound:
                await WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");
                return;
            case MembershipRefusal.DirectRoom:
                await WebexErrors.WriteAsync(r.Http, StatusCodes.Status403Forbidden, "The request is understood, but it has been refused or access is not allowed.", "People cannot be added to a direct room.");
                return;
            case MembershipRefusal.AlreadyMember:
                await WebexErrors.WriteAsync(r.Http, StatusCodes.Status409Conflict, "The request could not be processed because it conflicts with some established rule of the system.", "The person is already a member of the room.");
                return;
        }

        Publish(r, "created", membership!, r.State.Data.MemberIds(membership!.RoomId));
        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, membership);
    }

    private static Task DeleteAsync(RequestContext r)
    {
        if (r.State.Data.RemoveMembership(r.Me.Id, r.Args[0], out var membersBefore) is not { } membership)
        {
            return NotFoundAsync(r);
        }

        // The person removed is told too.
        Publish(r, "deleted", membership, membersBefore);

        r.Http.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    private static void Publish(RequestContext r, string @event, WebexMembership membership, IReadOnlyList<string> recipients) =>
        r.State.Deliverer.Publish(new WebhookEvent(
            "memberships", @event, r.Me.Id, membership.RoomId, membership.RoomType, membership.PersonId, membership.PersonEmail, membership, recipients));

    private static Task NotFoundAsync(RequestContext r) => WebexErrors.NotFoundAsync(r.Http, "Could not find a membership with provided ID.");

    private sealed record MembershipCursor(string? RoomId, string? PersonId, string? PersonEmail, DateTimeOffset Created, string Id)
    {
        public string Encode() => PageCursor.Encode(this);

        public static MembershipCursor? TryDecode(string value) =>
            PageCursor.TryDecode<MembershipCursor>(value) is { Id: not null } cursor ? cursor : null;
    }
}
