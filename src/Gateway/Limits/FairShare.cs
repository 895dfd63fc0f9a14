using System.Collections.Concurrent;
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
            if (coolDowns.Remaining(caller, resource) is { } coolingDown)
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

    /// <summary>Past this many resources, new ones are made for each call: a caller can name any path.</summary>
    private const int MaxKnown = 1_000;

    // The same few resources are named on every call: each is one string, made once.
    private static readonly ConcurrentDictionary<string, string> Known = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> KnownSpans =
        Known.GetAlternateLookup<ReadOnlySpan<char>>();

    public static string Of(PathString gatewayPath, UpstreamPath route)
    {
        var path = gatewayPath.Value ?? "";
        var rest = path.Length >= route.RoutePrefix.Length ? path.AsSpan(route.RoutePrefix.Length) : [];
        return route.WebexPrefix.Length == 0 && !rest.Contains('%') ? Of(rest) : Of(string.Concat(route.WebexPrefix, rest));
    }

    public static string Of(string webexPath)
    {
        // Kestrel leaves %2F encoded in the path; Webex may not, so it separates segments here too.
        if (webexPath.Contains('%'))
        {
            webexPath = webexPath.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        }

        return Of(webexPath.AsSpan());
    }

    private static string Of(ReadOnlySpan<char> path)
    {
        // The first two non-empty segments: v1//rooms and /v1/rooms/ are v1/rooms too.
        Span<Range> segments = stackalloc Range[3];
        var count = path.Split(segments, '/', StringSplitOptions.RemoveEmptyEntries);
        Span<char> resource = stackalloc char[MaxLength];
        Span<char> lowered = stackalloc char[MaxLength];
        var length = 0;
        if (count > 0)
        {
            length = Append(resource, 0, path[segments[0]]);
            if (count > 1)
            {
                length = Append(resource, Append(resource, length, "/"), path[segments[1]]);
            }
        }

        lowered = lowered[..((ReadOnlySpan<char>)resource[..length]).ToLowerInvariant(lowered)];
        if (KnownSpans.TryGetValue(lowered, out var known))
        {
            return known;
        }

        var made = lowered.ToString();
        if (Known.Count < MaxKnown)
        {
            Known.TryAdd(made, made);
        }

        return made;
    }

    /// <summary>Copies as much of <paramref name="part"/> as fits after <paramref name="length"/>; returns the new length.</summary>
    private static int Append(Span<char> resource, int length, ReadOnlySpan<char> part)
    {
        var copied = Math.Min(part.Length, resource.Length - length);
        part[..copied].CopyTo(resource[length..]);
        return length + copied;
    }
}
