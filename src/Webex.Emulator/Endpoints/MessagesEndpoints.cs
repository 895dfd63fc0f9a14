using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

internal static class MessagesEndpoints
{
    private const int DefaultMax = 50;
    private const int MaxLimit = 1000;
    private const int MaxTextBytes = 7439;

    public static void Map(Router router) => router
        .Map(HttpMethods.Get, "v1/messages", ListAsync)
        .Map(HttpMethods.Post, "v1/messages", CreateAsync)
        .Map(HttpMethods.Get, "v1/messages/{}", GetAsync)
        .Map(HttpMethods.Delete, "v1/messages/{}", DeleteAsync);

    private static async Task CreateAsync(RequestContext r)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(r.Http.Request.Body, default, r.Http.RequestAborted);
        }
        catch (JsonException)
        {
            await WebexErrors.BadRequestAsync(r.Http, "The request body is not valid JSON.");
            return;
        }

        using (document)
        {
            if (ParseDraft(document.RootElement, out var roomId, out var draft) is { } error)
            {
                await WebexErrors.BadRequestAsync(r.Http, error);
                return;
            }

            await PostAsync(r, roomId, draft);
        }
    }

    private static async Task PostAsync(RequestContext r, string? roomId, MessageDraft draft)
    {
        var data = r.State.Data;
        WebexRoom? room;
        if (roomId is not null)
        {
            room = data.GetRoom(r.Me.Id, roomId);
        }
        else
        {
            var person = draft.ToPersonId is { } personId ? data.GetPerson(personId) : data.FindPersonByEmail(draft.ToPersonEmail!);
            if (draft.ToPersonId is not null && person is null)
            {
                await WebexErrors.NotFoundAsync(r.Http, "Could not find a person with the provided toPersonId.");
                return;
            }

            if (person?.Id == r.Me.Id)
            {
                await WebexErrors.BadRequestAsync(r.Http, "You cannot send a direct message to yourself.");
                return;
            }

            var email = person?.Emails[0] ?? draft.ToPersonEmail!;
            draft = draft with { ToPersonId = person?.Id, ToPersonEmail = email };
            room = data.DirectRoom(r.Me, email, person);
        }

        if (room is null)
        {
            await WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");
            return;
        }

        if (draft.ParentId is { } parentId && data.GetMessage(r.Me.Id, parentId)?.RoomId != room.Id)
        {
            await WebexErrors.BadRequestAsync(r.Http, "The parentId does not identify a message in this room.");
            return;
        }

        if (data.AddMessage(r.Me, room.Id, draft) is not { } message)
        {
            await WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");
            return;
        }

        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, message);
    }

    /// <summary>Validates a create-message body; returns the error description, or null with the target and draft.</summary>
    private static string? ParseDraft(JsonElement body, out string? roomId, out MessageDraft draft)
    {
        roomId = null;
        draft = new MessageDraft(null, null, null, null, null, null, null);
        if (body.ValueKind != JsonValueKind.Object)
        {
            return "The request body must be a JSON object.";
        }

        string? error = null;
        string? String(string name)
        {
            if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                error ??= $"{name} must be a string.";
                return null;
            }

            return value.GetString() is { Length: > 0 } text ? text : null;
        }

        roomId = String("roomId");
        var toPersonId = String("toPersonId");
        var toPersonEmail = String("toPersonEmail");
        var text = String("text");
        var markdown = String("markdown");
        var parentId = String("parentId");
        var files = Files(body, ref error);
        JsonElement? attachments = body.TryGetProperty("attachments", out var a) && a.ValueKind != JsonValueKind.Null ? a.Clone() : null;
        if (attachments is { ValueKind: not JsonValueKind.Array })
        {
            error ??= "attachments must be an array.";
        }

        var targets = (roomId is null ? 0 : 1) + (toPersonId is null ? 0 : 1) + (toPersonEmail is null ? 0 : 1);
        error ??= targets switch
        {
            0 => "Either roomId, toPersonId or toPersonEmail must be specified.",
            > 1 => "Only one of roomId, toPersonId or toPersonEmail may be specified.",
            _ => null,
        };

        if (toPersonEmail is not null && (toPersonEmail.IndexOf('@', StringComparison.Ordinal) is <= 0 || toPersonEmail.EndsWith('@')))
        {
            error ??= "toPersonEmail is not a valid email address.";
        }

        if (text is null && markdown is null && files is null)
        {
            error ??= "text, markdown or files must be specified.";
        }

        if (Encoding.UTF8.GetByteCount(text ?? "") > MaxTextBytes || Encoding.UTF8.GetByteCount(markdown ?? "") > MaxTextBytes)
        {
            error ??= $"The message is longer than {MaxTextBytes} bytes.";
        }

        // Webex derives the plain text from the markdown when only markdown is sent.
        draft = new MessageDraft(parentId, toPersonId, toPersonEmail, text ?? markdown, markdown, files, attachments);
        return error;
    }

    private static string[]? Files(JsonElement body, ref string? error)
    {
        if (!body.TryGetProperty("files", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > 1 || value.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String))
        {
            error ??= "files must be an array of at most one URL.";
            return null;
        }

        return value.GetArrayLength() == 0 ? null : [value[0].GetString()!];
    }

    private static async Task ListAsync(RequestContext r)
    {
        var query = r.Http.Request.Query;
        if (!QueryParameters.TryGetOptional(query, "roomId", out var roomId) || string.IsNullOrEmpty(roomId))
        {
            await WebexErrors.BadRequestAsync(r.Http, "roomId is required.");
            return;
        }

        if (!QueryParameters.TryGetMax(query, DefaultMax, MaxLimit, out var max))
        {
            await WebexErrors.BadRequestAsync(r.Http, $"max must be an integer between 1 and {MaxLimit}.");
            return;
        }

        if (!QueryParameters.TryGetOptional(query, "before", out var beforeText)
            || !QueryParameters.TryGetOptional(query, "beforeMessage", out var beforeMessageId)
            || !QueryParameters.TryGetOptional(query, "parentId", out var parentId))
        {
            await WebexErrors.BadRequestAsync(r.Http, "before, beforeMessage and parentId must not be repeated.");
            return;
        }

        DateTimeOffset? before = null;
        if (beforeText is not null)
        {
            if (!DateTimeOffset.TryParse(beforeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                await WebexErrors.BadRequestAsync(r.Http, "before must be an ISO-8601 date and time.");
                return;
            }

            before = parsed;
        }

        long? beforeSequence = null;
        if (beforeMessageId is not null)
        {
            if (r.State.Data.GetMessage(r.Me.Id, beforeMessageId) is not { } beforeMessage || beforeMessage.RoomId != roomId)
            {
                await WebexErrors.BadRequestAsync(r.Http, "beforeMessage does not identify a message in this room.");
                return;
            }

            beforeSequence = beforeMessage.Sequence;
        }

        if (r.State.Data.GetRoom(r.Me.Id, roomId) is null)
        {
            await WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");
            return;
        }

        var page = r.State.Data.Messages(roomId)
            .Where(m => before is null || m.Created < before)
            .Where(m => beforeSequence is null || m.Sequence < beforeSequence)
            .Where(m => string.IsNullOrEmpty(parentId) || m.ParentId == parentId)
            .Take(max + 1)
            .ToList();

        if (page.Count > max)
        {
            var next = new StringBuilder($"{r.BaseUrl}/v1/messages?roomId={Uri.EscapeDataString(roomId)}");
            if (!string.IsNullOrEmpty(parentId))
            {
                next.Append("&parentId=").Append(Uri.EscapeDataString(parentId));
            }

            next.Append("&max=").Append(max).Append("&beforeMessage=").Append(Uri.EscapeDataString(page[max - 1].Id));
            r.Http.Response.Headers.Link = $"<{next}>; rel=\"next\"";
            page.RemoveAt(max);
        }

        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, new ItemsResponse<WebexMessage>(page));
    }

    private static Task GetAsync(RequestContext r) =>
        r.State.Data.GetMessage(r.Me.Id, r.Args[0]) is { } message
            ? WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, message)
            : WebexErrors.NotFoundAsync(r.Http, "Could not find a message with provided ID.");

    private static Task DeleteAsync(RequestContext r)
    {
        if (!r.State.Data.DeleteMessage(r.Me.Id, r.Args[0]))
        {
            return WebexErrors.NotFoundAsync(r.Http, "Could not find a message with provided ID.");
        }

        r.Http.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }
}
