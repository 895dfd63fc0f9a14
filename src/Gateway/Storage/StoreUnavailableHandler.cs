using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;
using WebexGateway.Auth;
using WebexGateway.Refusals;
using WebexGateway.Telemetry;

namespace WebexGateway.Storage;

/// <summary>
/// Redis down is a 503 the client can retry, never a 500: a page on the browser-facing sign-in endpoints, JSON anywhere
/// else. Nothing is deleted because a read failed.
/// </summary>
public sealed class StoreUnavailableHandler(GatewayMetrics metrics, ILogger<StoreUnavailableHandler> logger) : IExceptionHandler
{
    /// <summary>
    /// The store's error behind <paramref name="exception"/>, or null when the store is not why it failed. Data Protection
    /// reads its key ring from Redis and wraps what Redis threw (a CryptographicException, an InvalidOperationException,
    /// an AggregateException), so the whole chain is looked at, not only the outermost exception.
    /// </summary>
    public static Exception? StoreErrorIn(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is RedisException or RedisTimeoutException)
            {
                return e;
            }
        }

        return null;
    }

    /// <summary>Whether the store not answering is why <paramref name="exception"/> was thrown, however deep it is wrapped.</summary>
    public static bool IsStoreUnavailable(Exception exception) => StoreErrorIn(exception) is not null;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (StoreErrorIn(exception) is not { } storeError || httpContext.Response.HasStarted)
        {
            return false;
        }

        metrics.RedisError("request");
        Log.StoreUnavailable(logger, storeError.GetType().Name);
        if (AuthPages.IsPage(httpContext.Request))
        {
            await AuthPages.StoreUnavailableAsync(httpContext);
        }
        else
        {
            await Refuse.StoreUnavailable.ExecuteAsync(httpContext);
        }

        return true;
    }
}
