using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;
using WebexGateway.Refusals;
using WebexGateway.Telemetry;

namespace WebexGateway.Storage;

/// <summary>Redis down is a 503 the client can retry, never a 500; nothing is deleted because a read failed.</summary>
public sealed class StoreUnavailableHandler(GatewayMetrics metrics, ILogger<StoreUnavailableHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not (RedisException or RedisTimeoutException) || httpContext.Response.HasStarted)
        {
            return false;
        }

        metrics.RedisError("request");
        Log.StoreUnavailable(logger, exception.GetType().Name);
        await Refuse.StoreUnavailable.ExecuteAsync(httpContext);
        return true;
    }
}
