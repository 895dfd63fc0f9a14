using System.Globalization;
using System.Text.Json.Serialization;
using WebexGateway.Telemetry;

namespace WebexGateway.Refusals;

/// <summary>
/// An answer the gateway gives instead of Webex's: a status, an <c>error</c> code a frontend can branch on, a sentence a
/// person can read, and the <c>webex_gateway.requests_rejected</c> reason it counts under (none when it is not the
/// client's request that was refused). Every refusal in <see cref="Refuse"/> is one of these.
/// </summary>
public sealed class Refusal(int status, string error, string message, string? metricReason = null) : IResult
{
    public int Status { get; } = status;

    public string Error { get; } = error;

    public string Message { get; } = message;

    public string? MetricReason { get; } = metricReason;

    /// <summary>Sent as <c>Retry-After</c>, in seconds.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>For <c>login_required</c>: where the browser signs in.</summary>
    public string? LoginUrl { get; init; }

    /// <summary>For <c>rate_limited</c>: whose limit it is (<c>webex</c> or <c>gateway</c>); the body then also gives <c>retryAfter</c>.</summary>
    public string? Source { get; init; }

    /// <summary>Sent as <c>Allow</c> with a 405.</summary>
    public string? Allow { get; init; }

    public Task ExecuteAsync(HttpContext httpContext)
    {
        if (MetricReason is not null)
        {
            httpContext.RequestServices.GetRequiredService<GatewayMetrics>().Rejected(MetricReason);
        }

        var response = httpContext.Response;
        // A refusal may follow a cleared response (a failed forward, a replay), which dropped the security headers.
        Edge.SecurityHeaders.Apply(httpContext);
        response.StatusCode = Status;
        if (RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        if (Allow is not null)
        {
            response.Headers.Allow = Allow;
        }

        return response.WriteAsJsonAsync(new RefusalBody(Error, Message, LoginUrl, Source, Source is null ? null : RetryAfterSeconds), RefusalJsonContext.Default.RefusalBody, "application/json; charset=utf-8");
    }
}

internal sealed record RefusalBody(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("loginUrl"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LoginUrl,
    [property: JsonPropertyName("source"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Source = null,
    [property: JsonPropertyName("retryAfter"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? RetryAfter = null);

[JsonSerializable(typeof(RefusalBody))]
internal sealed partial class RefusalJsonContext : JsonSerializerContext;
