using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Outbound;
using WebexGateway.Telemetry;

namespace WebexGateway.Webhooks;

/// <summary>A webhook as Webex describes it; Webex never gives its secret back.</summary>
public sealed record WebexWebhook(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("targetUrl")] string? TargetUrl,
    [property: JsonPropertyName("resource")] string? Resource,
    [property: JsonPropertyName("event")] string? Event,
    [property: JsonPropertyName("status")] string? Status)
{
    public bool IsActive => string.Equals(Status, "active", StringComparison.OrdinalIgnoreCase);
}

/// <summary>A call to Webex's <c>/v1/webhooks</c> that did not succeed; <see cref="StatusCode"/> is null when none came back.</summary>
public sealed class WebhookCallException(string operation, HttpStatusCode? statusCode, string? trackingId)
    : Exception($"Webex webhooks {operation} failed with {(statusCode is { } code ? ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture) : "no answer")}")
{
    public HttpStatusCode? StatusCode { get; } = statusCode;

    public string? TrackingId { get; } = trackingId;
}

/// <summary>
/// Webex's <c>/v1/webhooks</c>, called with a person's own token through the gateway's Webex client (its resilience and its
/// trace-context policy). Each call counts in <c>webex_gateway.webhook_calls{operation,outcome}</c>.
/// </summary>
public sealed partial class WebexWebhooks(IHttpClientFactory clients, IOptions<WebexOptions> webex, IOptions<TelemetryOptions> telemetry, GatewayMetrics metrics)
{
    /// <summary>A person with more of the gateway's webhooks than this is beyond anything the lifecycle makes.</summary>
    private const int MaxPages = 20;

    private readonly string _apiUrl = webex.Value.ApiUrl!.TrimEnd('/');

    /// <summary>Every webhook of the token's person whose target is <paramref name="targetUrl"/>, over all pages.</summary>
    public async Task<IReadOnlyList<WebexWebhook>> ListAsync(string accessToken, string targetUrl, CancellationToken cancellationToken)
    {
        var found = new List<WebexWebhook>();
        var next = $"{_apiUrl}/v1/webhooks?max=100";
        for (var page = 0; next is not null && page < MaxPages; page++)
        {
            using var response = await SendAsync("list", HttpMethod.Get, next, accessToken, null, cancellationToken);
            var items = await response.Content.ReadFromJsonAsync(WebexWebhooksJsonContext.Default.WebhookList, cancellationToken);
            found.AddRange((items?.Items ?? []).Where(w => string.Equals(w.TargetUrl, targetUrl, StringComparison.Ordinal)));
            next = NextPage(response.Headers);
        }

        return found;
    }

    public async Task<WebexWebhook> CreateAsync(string accessToken, string targetUrl, EventPair pair, string secret, CancellationToken cancellationToken)
    {
        var body = new WebhookWrite($"webex-gateway {pair}", targetUrl, pair.Resource, pair.Event, secret, null);
        using var response = await SendAsync("create", HttpMethod.Post, $"{_apiUrl}/v1/webhooks", accessToken, body, cancellationToken);
        return await response.Content.ReadFromJsonAsync(WebexWebhooksJsonContext.Default.WebexWebhook, cancellationToken)
            ?? throw new WebhookCallException("create", response.StatusCode, null);
    }

    /// <summary>Sets a webhook Webex disabled back to active, with its secret (Webex takes the whole writable shape).</summary>
    public async Task ActivateAsync(string accessToken, WebexWebhook webhook, string secret, CancellationToken cancellationToken)
    {
        var body = new WebhookWrite(webhook.Name ?? $"webex-gateway {webhook.Resource}:{webhook.Event}", webhook.TargetUrl!, null, null, secret, "active");
        using var _ = await SendAsync("update", HttpMethod.Put, $"{_apiUrl}/v1/webhooks/{Uri.EscapeDataString(webhook.Id)}", accessToken, body, cancellationToken);
    }

    /// <summary>Deletes a webhook; one Webex no longer has counts as deleted.</summary>
    public async Task DeleteAsync(string accessToken, string webhookId, CancellationToken cancellationToken)
    {
        using var _ = await SendAsync("delete", HttpMethod.Delete, $"{_apiUrl}/v1/webhooks/{Uri.EscapeDataString(webhookId)}", accessToken, null, cancellationToken,
            alsoFine: HttpStatusCode.NotFound);
    }

    private async Task<HttpResponseMessage> SendAsync(string operation, HttpMethod method, string url, string accessToken, WebhookWrite? body,
        CancellationToken cancellationToken, HttpStatusCode? alsoFine = null)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, WebexWebhooksJsonContext.Default.WebhookWrite);
        }

        WebexHttp.ApplyTraceContextPolicy(request, telemetry.Value);
        HttpResponseMessage response;
        try
        {
            response = await clients.CreateClient(WebexHttp.WebhooksClient).SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or OperationCanceledException or Polly.ExecutionRejectedException)
        {
            metrics.WebhookCall(operation, "error");
            throw new WebhookCallException(operation, null, null);
        }

        if (response.IsSuccessStatusCode || response.StatusCode == alsoFine)
        {
            metrics.WebhookCall(operation, "success");
            return response;
        }

        metrics.WebhookCall(operation, response.StatusCode == HttpStatusCode.Unauthorized ? "unauthorized" : "failed");
        var trackingId = response.Headers.TryGetValues("TrackingID", out var values) ? values.FirstOrDefault() : null;
        var status = response.StatusCode;
        response.Dispose();
        throw new WebhookCallException(operation, status, trackingId);
    }

    /// <summary>The <c>rel="next"</c> link, when it points at Webex: the person's token never goes anywhere else.</summary>
    private string? NextPage(HttpResponseHeaders headers)
    {
        if (!headers.TryGetValues("Link", out var links))
        {
            return null;
        }

        foreach (var link in links)
        {
            foreach (Match match in NextLink().Matches(link))
            {
                var url = match.Groups[1].Value;
                if (url.StartsWith(_apiUrl + "/", StringComparison.OrdinalIgnoreCase))
                {
                    return url;
                }
            }
        }

        return null;
    }

    [GeneratedRegex("<([^>]+)>\\s*;\\s*rel=\"?next\"?", RegexOptions.IgnoreCase)]
    private static partial Regex NextLink();
}

internal sealed record WebhookList([property: JsonPropertyName("items")] List<WebexWebhook>? Items);

internal sealed record WebhookWrite(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("targetUrl")] string TargetUrl,
    [property: JsonPropertyName("resource"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Resource,
    [property: JsonPropertyName("event"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Event,
    [property: JsonPropertyName("secret")] string Secret,
    [property: JsonPropertyName("status"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Status);

[JsonSerializable(typeof(WebhookList))]
[JsonSerializable(typeof(WebhookWrite))]
[JsonSerializable(typeof(WebexWebhook))]
internal sealed partial class WebexWebhooksJsonContext : JsonSerializerContext;
