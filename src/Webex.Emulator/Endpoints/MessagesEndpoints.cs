using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

internal static class MessagesEndpoints
{
    private const int DefaultMax = 50;
    private const int MaxLimit = 1000;
    private const int MaxTextBytes = 7439;
    private const int MaxFieldBytes = 64 * 1024;

    /// <summary>Webex's limit for one file.</summary>
    public const long MaxFileBytes = 100L * 1024 * 1024;

    /// <summary>The largest multipart body: one file at the limit plus room for the text fields and the part headers.</summary>
    public const long MaxUploadRequestBytes = MaxFileBytes + (1024 * 1024);

    public static void Map(Router router) => router
        .Map(HttpMethods.Get, "v1/messages", ListAsync)
        .Map(HttpMethods.Post, "v1/messages", CreateAsync)
        .Map(HttpMethods.Get, "v1/messages/{}", GetAsync)
        .Map(HttpMethods.Delete, "v1/messages/{}", DeleteAsync);

    /// <summary>True for <c>POST /v1/messages</c> with a <c>multipart/form-data</c> body (a message with a file).</summary>
    public static bool IsUpload(HttpRequest request, IReadOnlyList<string> segments) =>
        HttpMethods.IsPost(request.Method) && segments is ["v1", "messages"] && request.HasFormContentType
        && request.ContentType!.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase);

    private static async Task CreateAsync(RequestContext r)
    {
        if (r.Http.Request.HasFormContentType)
        {
            await CreateWithFileAsync(r);
            return;
        }

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

    /// <summary>
    /// Webex's multipart form: the message's fields as text parts and one <c>files</c> part with the file's bytes, name
    /// and type. The file is stored and the message's <c>files</c> holds its <c>/v1/contents/{id}</c> URL.
    /// </summary>
    private static async Task CreateWithFileAsync(RequestContext r)
    {
        var request = r.Http.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary) is not { Length: > 0 and <= 70 } boundary)
        {
            await WebexErrors.WriteAsync(r.Http, StatusCodes.Status415UnsupportedMediaType, "The request was made with a media type that is not supported.", "Use application/json or multipart/form-data with a boundary.");
            return;
        }

        var fields = new JsonObject();
        UploadedFile? file = null;
        try
        {
            var reader = new MultipartReader(boundary.ToString(), request.Body);
            string? error = null;
            while (await reader.ReadNextSectionAsync(r.Http.RequestAborted) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase)
                    || HeaderUtilities.RemoveQuotes(disposition.Name).ToString() is not { Length: > 0 } name)
                {
                    error ??= "Each part needs a Content-Disposition: form-data with a name.";
                    continue;
                }

                if (disposition.IsFileDisposition())
                {
                    if (name != "files" || file is not null)
                    {
                        error ??= "Only one file may be sent, in the files part.";
                        continue;
                    }

                    var stored = await r.State.Contents.SpoolAsync(section.Body, MaxFileBytes, r.Http.RequestAborted);
                    var fileName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).ToString();
                    file = new UploadedFile(stored.Path, stored.Length, stored.Sha256, fileName.Length > 0 ? fileName : "file",
                        string.IsNullOrWhiteSpace(section.ContentType) ? "application/octet-stream" : section.ContentType);
                }
                else
                {
                    fields[name] = await ReadFieldAsync(section.Body, r.Http.RequestAborted) ?? throw new InvalidDataException();
                }
            }

            if (error is not null)
            {
                Discard(file);
                await WebexErrors.BadRequestAsync(r.Http, error);
                return;
            }
        }
        catch (FileTooLargeException)
        {
            await WebexErrors.WriteAsync(r.Http, StatusCodes.Status413PayloadTooLarge, "The request is larger than the server is willing or able to process.", $"A file may be at most {MaxFileBytes} bytes.");
            return;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException && !r.Http.RequestAborted.IsCancellationRequested)
        {
            // MultipartReader's answer to a malformed or truncated body.
            Discard(file);
            await WebexErrors.BadRequestAsync(r.Http, "The multipart body could not be read.");
            return;
        }

        if (file is not null)
        {
            fields["files"] = new JsonArray("pending");
        }

        using var document = JsonDocument.Parse(fields.ToJsonString());
        if (ParseDraft(document.RootElement, out var roomId, out var draft) is { } invalid)
        {
            Discard(file);
            await WebexErrors.BadRequestAsync(r.Http, invalid);
            return;
        }

        if (!await PostAsync(r, roomId, draft, file))
        {
            Discard(file);
        }
    }

    /// <summary>A text part, or null when it is longer than any field Webex takes.</summary>
    private static async Task<string?> ReadFieldAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxFieldBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        return length > MaxFieldBytes ? null : Encoding.UTF8.GetString(buffer, 0, length);
    }

    private static void Discard(UploadedFile? file)
    {
        if (file is not null)
        {
            ContentStore.Delete(file.Path);
        }
    }

    private static async Task<bool> PostAsync(RequestContext r, string? roomId, MessageDraft draft, UploadedFile? file = null)
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
                return false;
            }

            if (person?.Id == r.Me.Id)
            {
                await WebexErrors.BadRequestAsync(r.Http, "You cannot send a direct message to yourself.");
                return false;
            }

            var email = person?.Emails[0] ?? draft.ToPersonEmail!;
            draft = draft with { ToPersonId = person?.Id, ToPersonEmail = email };
            room = data.DirectRoom(r.Me, email, person);
        }

        if (room is null)
        {
            await WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");
            return false;
        }

        if (draft.ParentId is { } parentId && data.GetMessage(r.Me.Id, parentId)?.RoomId != room.Id)
        {
            await WebexErrors.BadRequestAsync(r.Http, "The parentId does not identify a message in this room.");
            return false;
        }

        string? contentId = null;
        if (file is not null)
        {
            contentId = WebexIds.Encode($"ciscospark://us/CONTENT/{Guid.NewGuid()}/0");
            draft = draft with { Files = [$"{r.BaseUrl}/v1/contents/{Uri.EscapeDataString(contentId)}"] };
        }

        if (data.AddMessage(r.Me, room.Id, draft) is not { } message)
        {
            await WebexErrors.NotFoundAsync(r.Http, "Could not find a room with provided ID.");
            return false;
        }

        if (file is not null)
        {
            r.State.Contents.Add(new StoredContent(contentId!, room.Id, file.FileName, file.ContentType, file.Length, file.Sha256, message.Created, file.Path));
        }

        Publish(r, "created", message);
        await WebexJson.WriteAsync(r.Http, StatusCodes.Status200OK, message);
        return true;
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
        if (r.State.Data.DeleteMessage(r.Me.Id, r.Args[0], out var forbidden) is not { } message)
        {
            return forbidden
                ? WebexErrors.WriteAsync(r.Http, StatusCodes.Status403Forbidden, "The request is understood, but it has been refused or access is not allowed.", "Only the sender may delete a message.")
                : WebexErrors.NotFoundAsync(r.Http, "Could not find a message with provided ID.");
        }

        Publish(r, "deleted", message);
        r.Http.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    /// <summary>Tells the webhooks of the room's members; the data is the message without its text, as Webex sends it.</summary>
    private static void Publish(RequestContext r, string @event, WebexMessage message) =>
        r.State.Deliverer.Publish(new WebhookEvent(
            "messages",
            @event,
            r.Me.Id,
            message.RoomId,
            message.RoomType,
            message.PersonId,
            message.PersonEmail,
            new MessageEventData(message.Id, message.RoomId, message.RoomType, message.PersonId, message.PersonEmail, null, message.Files, message.Created),
            r.State.Data.MemberIds(message.RoomId)));

    private sealed record UploadedFile(string Path, long Length, string Sha256, string FileName, string ContentType);
}
