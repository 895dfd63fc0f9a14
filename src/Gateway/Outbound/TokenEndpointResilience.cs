using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using WebexGateway.Configuration;
using WebexGateway.Grants;

namespace WebexGateway.Outbound;

/// <summary>
/// Retries with backoff and a circuit breaker for the token endpoint, inside one overall timeout.
/// Only failures that mean "not processed" are retried (no connection, 502, 503, 504, 429): a refresh that Webex may
/// have carried out is never sent twice, because with rotating refresh tokens the second would find the first one spent.
/// </summary>
public static class TokenEndpointResilience
{
    public static IHttpClientBuilder AddTokenEndpointResilience(this IHttpClientBuilder builder)
    {
        builder.AddResilienceHandler("token-endpoint", (pipeline, context) =>
        {
            var timeout = context.ServiceProvider.GetRequiredService<IOptions<WebexOptions>>().Value.TokenRequestTimeout;
            pipeline
                .AddTimeout(timeout)
                .AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 2,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                    ShouldHandle = args => ValueTask.FromResult(IsRetryable(args.Outcome, args.Context)),
                })
                .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    MinimumThroughput = 6,
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = TimeSpan.FromSeconds(10),
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null || (int?)args.Outcome.Result?.StatusCode >= 500),
                });
        });
        return builder;
    }

    private static bool IsRetryable(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        if (context.GetRequestMessage()?.Options.TryGetValue(TokenClient.NoRetry, out var noRetry) == true && noRetry)
        {
            return false;
        }

        return outcome switch
        {
            { Exception: HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } } => true,
            { Result.StatusCode: HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.TooManyRequests } => true,
            _ => false,
        };
    }
}
