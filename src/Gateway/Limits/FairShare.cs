using WebexGateway.Proxy;
using WebexGateway.Refusals;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Model;

namespace WebexGateway.Limits;

/// <summary>
/// A call on a Webex route, once its token is known: not sent while its caller cools down from a Webex 429 on the
/// same resource, nor beyond its person's share (<see cref="PersonQuota"/>); and a 429 from Webex, passed to the client
/// as it is, starts a cool-down. A replay after a refresh is the same call: it is not counted again.
/// </summary>
public sealed class FairShare(RequestDelegate next, CoolDowns coolDowns, PersonQuota quota, GatewayMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var call = context.Features.Get<WebexCall>();
        if (call?.Caller is not { } caller)
        {
            await next(context);
            return;
        }

        var resource = WebexResource.Of(context.Request.Path, UpstreamPath.Of(context.GetReverseProxyFeature().Route));
        if (!call.Admitted)
        {
            call.Admitted = true;
            if (await coolDowns.RemainingAsync(caller, resource, context.RequestAborted) is { } coolingDown)
            {
                metrics.RateLimited("webex");
                await Refuse.RateLimited("webex", coolingDown).ExecuteAsync(context);
                return;
            }

            if (call.PersonId is { } person && await quota.AcquireAsync(person, context.RequestAborted) is { } nextWindow)
            {
                metrics.RateLimited("gateway");
                await Refuse.RateLimited("gateway", nextWindow).ExecuteAsync(context);
                return;
            }
        }

        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status429TooManyRequests)
        {
            metrics.RateLimited("webex");
            await coolDowns.RecordAsync(caller, resource, context.Response.Headers.RetryAfter.ToString());
        }
    }
}

/// <summary>The Webex resource a call is counted against: the first two segments of its Webex path (<c>v1/messages</c>).</summary>
public static class WebexResource
{
    private const int MaxLength = 64;

    public static string Of(PathString gatewayPath, UpstreamPath route)
    {
        var path = gatewayPath.Value ?? "";
        var rest = path.Length >= route.RoutePrefix.Length ? path.AsSpan(route.RoutePrefix.Length) : [];
        return Of(string.Concat(route.WebexPrefix, rest));
    }

    public static string Of(string webexPath)
    {
        var path = webexPath.AsSpan().TrimStart('/');
        var first = path.IndexOf('/');
        if (first >= 0)
        {
            var second = path[(first + 1)..].IndexOf('/');
            if (second >= 0)
            {
                path = path[..(first + 1 + second)];
            }
        }

        if (path.Length > MaxLength)
        {
            path = path[..MaxLength];
        }

        return path.ToString().ToLowerInvariant();
    }
}
