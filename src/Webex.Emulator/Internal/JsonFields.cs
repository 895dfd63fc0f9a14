using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Webex.Emulator.Internal;

/// <summary>Reads a request's JSON object field by field, keeping the first problem found.</summary>
internal sealed class JsonFields
{
    private readonly JsonElement _body;

    private JsonFields(JsonElement body) => _body = body;

    /// <summary>The first problem found so far, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>The body as a JSON object, or null after answering 400.</summary>
    public static async Task<JsonFields?> ReadAsync(RequestContext r)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(r.Http.Request.Body, default, r.Http.RequestAborted);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return new JsonFields(document.RootElement.Clone());
            }
        }
        catch (JsonException)
        {
            await WebexErrors.BadRequestAsync(r.Http, "The request body is not valid JSON.");
            return null;
        }

        await WebexErrors.BadRequestAsync(r.Http, "The request body must be a JSON object.");
        return null;
    }

    /// <summary>A string field; null when absent, null or empty (an error when <paramref name="required"/>).</summary>
    public string? String(string name, bool required = false)
    {
        if (!_body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            Fail(required, name);
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            Error ??= $"{name} must be a string.";
            return null;
        }

        if (value.GetString() is { Length: > 0 } text)
        {
            return text;
        }

        Fail(required, name);
        return null;
    }

    public bool? Boolean(string name)
    {
        if (!_body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Error ??= $"{name} must be true or false.";
            return null;
        }

        return value.GetBoolean();
    }

    public void Reject(string error) => Error ??= error;

    public Task BadRequestAsync(HttpContext http) => WebexErrors.BadRequestAsync(http, Error ?? "The request is invalid.");

    private void Fail(bool required, string name)
    {
        if (required)
        {
            Error ??= $"{name} is required.";
        }
    }
}
