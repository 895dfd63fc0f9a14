using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using WebexGateway.Configuration;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace WebexGateway.Proxy;

/// <summary>
/// A message's <c>files</c> are Webex URLs (<c>https://webexapis.com/v1/contents/{id}</c>) a browser cannot fetch: in the
/// JSON answers of the messages API (<c>GET /v1/messages</c>, <c>GET /v1/messages/{id}</c>, <c>POST /v1/messages</c>),
/// each one under <c>Webex:ApiUrl</c> is pointed at the route (<c>/webex/v1/contents/{id}</c>), as Link headers are. Only
/// those strings change: every other byte of the body is Webex's. Only these answers are read whole, and only up to
/// <see cref="MaxRewrittenBytes"/>; a larger one passes as it came (logged). Every other call streams untouched.
/// </summary>
public sealed class MessageFiles(IOptions<WebexOptions> webex, ILogger<MessageFiles> logger) : ITransformProvider
{
    /// <summary>1 MiB: a page of 100 messages with files is far below it.</summary>
    public const int MaxRewrittenBytes = 1024 * 1024;

    private const string MessagesPath = "/v1/messages";

    private readonly string _apiUrl = webex.Value.ApiUrl!;

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (!RouteToken.Of(context.Route.Metadata).SendsWebexToken)
        {
            return;
        }

        var path = UpstreamPath.Of(context.Route);
        context.AddRequestTransform(request =>
        {
            if (IsMessagesCall(request.HttpContext, path))
            {
                // The answer is read here: Webex must not compress it.
                request.ProxyRequest.Headers.Remove(HeaderNames.AcceptEncoding);
            }

            return ValueTask.CompletedTask;
        });
        context.AddResponseTransform(response => IsRewritable(response, path) ? RewriteAsync(response, path.GatewayPrefix) : ValueTask.CompletedTask);
    }

    /// <summary>List, get one or create: decided on the method and the Webex path, from the decoded request path (no allocation).</summary>
    public static bool IsMessagesCall(HttpContext context, UpstreamPath path)
    {
        var method = context.Request.Method;
        var isGet = HttpMethods.IsGet(method);
        if (!isGet && !HttpMethods.IsPost(method))
        {
            return false;
        }

        var requestPath = context.Request.Path.Value.AsSpan();
        if (!requestPath.StartsWith(path.RoutePrefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // The Webex path is the route's Webex prefix followed by the rest of the request path.
        var rest = requestPath[path.RoutePrefix.Length..];
        var webexPrefix = path.WebexPrefix.AsSpan();
        ReadOnlySpan<char> messages = MessagesPath;
        ReadOnlySpan<char> tail;
        if (webexPrefix.Length >= messages.Length)
        {
            if (!webexPrefix.Equals(messages, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            tail = rest;
        }
        else
        {
            if (!messages.StartsWith(webexPrefix, StringComparison.OrdinalIgnoreCase)
                || !rest.StartsWith(messages[webexPrefix.Length..], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            tail = rest[(messages.Length - webexPrefix.Length)..];
        }

        tail = tail.TrimEnd('/');
        if (tail.IsEmpty)
        {
            return true;
        }

        // GET /v1/messages/{id}: one segment.
        return isGet && tail[0] == '/' && tail.Length > 1 && tail[1..].IndexOf('/') < 0;
    }

    private static bool IsRewritable(ResponseTransformContext context, UpstreamPath path)
    {
        // The path first: the typed headers below are parsed on first read.
        var response = context.ProxyResponse;
        return response is { StatusCode: System.Net.HttpStatusCode.OK }
               && !context.SuppressResponseBody
               && IsMessagesCall(context.HttpContext, path)
               && response.Content.Headers.ContentType?.MediaType is { } type
               && type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
               && response.Content.Headers.ContentEncoding.Count == 0;
    }

    private async ValueTask RewriteAsync(ResponseTransformContext context, string gatewayPrefix)
    {
        var content = context.ProxyResponse!.Content;
        var declared = content.Headers.ContentLength;
        if (declared > MaxRewrittenBytes)
        {
            Log.MessagesAnswerTooLargeToRewrite(logger, declared.Value, MaxRewrittenBytes);
            return;
        }

        context.SuppressResponseBody = true;
        var response = context.HttpContext.Response;
        var cancellation = context.CancellationToken;
        await using var stream = await content.ReadAsStreamAsync(cancellation);
        var buffer = ArrayPool<byte>.Shared.Rent((int)(declared ?? MaxRewrittenBytes) + 1);
        try
        {
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellation)) > 0)
            {
                length += read;
            }

            if (length > MaxRewrittenBytes)
            {
                // Chunked and too large after all: what was read goes first, the rest streams behind it.
                Log.MessagesAnswerTooLargeToRewrite(logger, length, MaxRewrittenBytes);
                await response.Body.WriteAsync(buffer.AsMemory(0, length), cancellation);
                await stream.CopyToAsync(response.Body, cancellation);
                return;
            }

            var body = buffer.AsMemory(0, length);
            if (Rewrite(body.Span, _apiUrl, gatewayPrefix) is { } rewritten)
            {
                body = rewritten;
            }

            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body, cancellation);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The body with each string of a <c>files</c> array that starts with <paramref name="apiUrl"/> pointed at
    /// <paramref name="gatewayPrefix"/>; null when nothing changes or the body is not JSON. Bytes outside those strings are kept.
    /// </summary>
    public static byte[]? Rewrite(ReadOnlySpan<byte> json, string apiUrl, string gatewayPrefix)
    {
        List<(int Start, int Length, byte[] Replacement)>? edits = null;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        var filesNext = false;
        var filesDepth = -1;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        filesNext = reader.ValueTextEquals("files"u8);
                        continue;
                    case JsonTokenType.StartArray when filesNext && filesDepth < 0:
                        filesDepth = reader.CurrentDepth;
                        break;
                    case JsonTokenType.EndArray when reader.CurrentDepth == filesDepth:
                        filesDepth = -1;
                        break;
                    case JsonTokenType.String when filesDepth >= 0 && reader.CurrentDepth == filesDepth + 1:
                        var url = reader.GetString()!;
                        if (url.StartsWith(apiUrl, StringComparison.OrdinalIgnoreCase) && url.Length > apiUrl.Length && url[apiUrl.Length] is '/' or '?')
                        {
                            var replacement = JsonEncodedText.Encode(gatewayPrefix + url[apiUrl.Length..], JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
                            // The token is the string with its quotes; its value span holds the bytes as sent (escapes included).
                            (edits ??= []).Add(((int)reader.TokenStartIndex, reader.ValueSpan.Length + 2, [(byte)'"', .. replacement.EncodedUtf8Bytes, (byte)'"']));
                        }

                        break;
                }

                filesNext = false;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        if (edits is null)
        {
            return null;
        }

        var size = json.Length;
        foreach (var edit in edits)
        {
            size += edit.Replacement.Length - edit.Length;
        }

        var result = new byte[size];
        var from = 0;
        var to = 0;
        foreach (var edit in edits)
        {
            json[from..edit.Start].CopyTo(result.AsSpan(to));
            to += edit.Start - from;
            edit.Replacement.CopyTo(result.AsSpan(to));
            to += edit.Replacement.Length;
            from = edit.Start + edit.Length;
        }

        json[from..].CopyTo(result.AsSpan(to));
        return result;
    }
}
