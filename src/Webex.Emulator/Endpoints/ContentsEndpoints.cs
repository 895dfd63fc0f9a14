using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Webex.Emulator.Internal;

namespace Webex.Emulator.Endpoints;

/// <summary>
/// <c>/v1/contents/{id}</c>: a file posted with a message, for members of its room. Served from disk with its original
/// type and name, <c>ETag</c>/<c>Last-Modified</c>, one byte range and <c>If-None-Match</c>; Webex's malware scan shows
/// as <c>423 Locked</c> (still scanning) or <c>428</c> (cannot be scanned, unless <c>allow=unscannable</c>).
/// </summary>
internal static class ContentsEndpoints
{
    private const string NotFoundDescription = "Could not find a file with provided ID.";

    public static void Map(Router router) => router
        .Map(HttpMethods.Get, "v1/contents/{}", ServeAsync)
        .Map(HttpMethods.Head, "v1/contents/{}", ServeAsync);

    private static async Task ServeAsync(RequestContext r)
    {
        var store = r.State.Contents;
        var id = r.Args[0];
        if (store.Get(id) is not { } content || r.State.Data.GetRoom(r.Me.Id, content.RoomId) is null)
        {
            await WebexErrors.NotFoundAsync(r.Http, NotFoundDescription);
            return;
        }

        if (store.TryConsumeLock(id) is { } retryAfter)
        {
            r.Http.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WebexErrors.WriteAsync(r.Http, StatusCodes.Status423Locked, "The requested resource is temporarily unavailable.", "The file is being scanned for malware.");
            return;
        }

        if (store.IsUnscannable(id) && !string.Equals(r.Http.Request.Query["allow"], "unscannable", StringComparison.Ordinal))
        {
            await WebexErrors.WriteAsync(r.Http, StatusCodes.Status428PreconditionRequired, "File(s) cannot be scanned for malware and need to be force downloaded.", "Add allow=unscannable to download it anyway.");
            return;
        }

        var request = r.Http.Request;
        var response = r.Http.Response;
        var etag = new EntityTagHeaderValue($"\"{content.Sha256}\"");
        response.Headers.ETag = etag.ToString();
        response.Headers.LastModified = HeaderUtilities.FormatDate(content.Created);
        response.Headers.AcceptRanges = "bytes";
        var disposition = new ContentDispositionHeaderValue("attachment");
        if (System.Text.Ascii.IsValid(content.FileName) && !content.FileName.Any(char.IsControl))
        {
            // Webex's own form; filename* only when the name needs it.
            disposition.FileName = $"\"{content.FileName.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
        }
        else
        {
            disposition.SetHttpFileName(content.FileName);
        }
        response.Headers.ContentDisposition = disposition.ToString();

        if (Matches(request.Headers.IfNoneMatch, etag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        long start = 0;
        var length = content.Length;
        if (RequestedRange(request, etag, content.Length) is { } range)
        {
            if (range.Length == 0)
            {
                response.Headers.ContentRange = $"bytes */{content.Length}";
                await WebexErrors.WriteAsync(r.Http, StatusCodes.Status416RangeNotSatisfiable, "The requested range cannot be served.", $"The file has {content.Length} bytes.");
                return;
            }

            (start, length) = range;
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {start}-{start + length - 1}/{content.Length}";
        }
        else
        {
            response.StatusCode = StatusCodes.Status200OK;
        }

        response.ContentType = content.ContentType;
        response.ContentLength = length;
        if (HttpMethods.IsHead(request.Method) || length == 0)
        {
            return;
        }

        await response.SendFileAsync(content.Path, start, length, r.Http.RequestAborted);
    }

    private static bool Matches(StringValues ifNoneMatch, EntityTagHeaderValue etag) =>
        ifNoneMatch.Count > 0
        && EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)
        && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(etag, useStrongComparison: false));

    /// <summary>
    /// The single byte range asked for, as (start, length); length 0 when it cannot be satisfied; null to serve the whole
    /// file (no range, several ranges, another unit, or an <c>If-Range</c> that no longer matches).
    /// </summary>
    private static (long Start, long Length)? RequestedRange(HttpRequest request, EntityTagHeaderValue etag, long size)
    {
        if (!RangeHeaderValue.TryParse(request.Headers.Range.ToString(), out var header)
            || !header.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase)
            || header.Ranges.Count != 1)
        {
            return null;
        }

        if (request.Headers.IfRange.Count > 0
            && (!EntityTagHeaderValue.TryParse(request.Headers.IfRange.ToString(), out var ifRange) || !ifRange.Compare(etag, useStrongComparison: true)))
        {
            return null;
        }

        var item = header.Ranges.Single();
        if (item.From is null)
        {
            var suffix = Math.Min(item.To ?? 0, size);
            return suffix <= 0 ? (0, 0) : (size - suffix, suffix);
        }

        var from = item.From.Value;
        if (from >= size)
        {
            return (0, 0);
        }

        var to = Math.Min(item.To ?? (size - 1), size - 1);
        return (from, to - from + 1);
    }
}
