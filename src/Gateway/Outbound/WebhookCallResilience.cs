using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace WebexGateway.Outbound;

/// <summary>
/// Retries with backoff for the webhook lifecycle's calls to Webex, inside one overall timeout. A creation is retried only
/// when Webex certainly did not make the webhook (no connection, 429); the lifecycle removes any duplicate at its next run.
/// </summary>
public static class WebhookCallResilience
{
    public static IHttpClientBuilder AddWebhookCallResilience(this IHttpClientBuilder builder)
    {
        builder.AddResilienceHandler("webex-webhooks", pipeline => pipeline
            .AddTimeout(TimeSpan.FromSeconds(30))
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = 2,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                ShouldHandle = args => ValueTask.FromResult(IsRetryable(args.Outcome, args.Context.GetRequestMessage()?.Method)),
            })
            .AddTimeout(TimeSpan.FromSeconds(10)));
        return builder;
    }

    private static bool IsRetryable(Outcome<HttpResponseMessage> outcome, HttpMethod? method)
    {
        var idempotent = method != HttpMethod.Post;
        return outcome switch
        {
            { Exception: HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } } => true,
            { Result.StatusCode: HttpStatusCode.TooManyRequests } => true,
            { Result.StatusCode: HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout } => idempotent,
            { Exception: Polly.Timeout.TimeoutRejectedException } => idempotent,
            _ => false,
        };
    }
}
