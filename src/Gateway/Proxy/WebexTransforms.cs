using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using WebexGateway.Configuration;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace WebexGateway.Proxy;

/// <summary>
/// The transforms of a user-token route: the raw request target, the user's Bearer and nothing of the browser's
/// credentials or forwarding headers on the way out; Link headers pointed back at the gateway on the way in.
/// </summary>
public sealed class WebexTransforms(IOptions<WebexOptions> webex, IOptions<TelemetryOptions> telemetry, GatewayMetrics metrics) : ITransformProvider
{
    public const string RoutePrefix = "/webex";

    private static readonly string[] TraceContextHeaders = ["traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context"];
    private readonly string _apiUrl = webex.Value.ApiUrl!;
    private readonly bool _propagateTraceContext = telemetry.Value.PropagateTraceContextToWebex;

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (context.Route.Metadata?.TryGetValue(WebexCall.TokenMetadataKey, out var token) != true || token != WebexCall.UserToken)
        {
            return;
        }

        context.UseDefaultForwarders = false;
        context.AddRequestTransform(TransformRequest);
        context.AddResponseTransform(TransformResponse);
    }

    private ValueTask TransformRequest(RequestTransformContext context)
    {
        var call = context.HttpContext.Features.GetRequiredFeature<WebexCall>();
        var headers = context.ProxyRequest.Headers;
        headers.Remove("Cookie");
        headers.Remove("Forwarded");
        foreach (var name in headers.Select(h => h.Key).Where(n => n.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            headers.Remove(name);
        }

        if (!_propagateTraceContext)
        {
            // The frontend's trace context stops here: Webex learns nothing of the caller's traces unless ops turn it on.
            context.ProxyRequest.Options.Set(GatewayTelemetry.NoTraceContext, true);
            foreach (var name in TraceContextHeaders)
            {
                headers.Remove(name);
            }
        }

        headers.Authorization = new AuthenticationHeaderValue("Bearer", call.AccessToken);
        context.ProxyRequest.RequestUri = UpstreamUri(context.HttpContext);
        return ValueTask.CompletedTask;
    }

    private ValueTask TransformResponse(ResponseTransformContext context)
    {
        var response = context.ProxyResponse;
        if (response is null)
        {
            return ValueTask.CompletedTask;
        }

        var call = context.HttpContext.Features.GetRequiredFeature<WebexCall>();
        metrics.UpstreamResponse((int)response.StatusCode);
        if (response.Headers.TryGetValues("TrackingID", out var trackingIds))
        {
            context.HttpContext.Features.Get<IHttpActivityFeature>()?.Activity.SetTag("webex.tracking_id", trackingIds.FirstOrDefault());
        }

        if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
        {
            if (call.CanReplay && call.Attempt == 1)
            {
                // Keep the response unstarted so the middleware can refresh and send the request again.
                context.SuppressResponseBody = true;
                call.UnauthorizedHeldBack = true;
            }
            else
            {
                call.UnauthorizedPassedOn = true;
            }
        }

        var links = context.HttpContext.Response.Headers.Link;
        if (links.Count > 0)
        {
            context.HttpContext.Response.Headers.Link = LinkHeaders.Rewrite(links, _apiUrl, RoutePrefix);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The request target exactly as the client sent it, minus the route prefix. YARP would rebuild it from the decoded
    /// path and re-encode <c>%2F</c> as <c>%252F</c> (dotnet/yarp#1419), and Webex ids are base64 that can hold a <c>/</c>.
    /// </summary>
    private Uri UpstreamUri(HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (rawTarget is not null && !rawTarget.StartsWith('/') && rawTarget.IndexOf("://", StringComparison.Ordinal) is > 0 and var scheme)
        {
            // The absolute form (GET http://host/webex/... HTTP/1.1): the target's path starts after its authority.
            var path = rawTarget.IndexOfAny(['/', '?'], scheme + 3);
            rawTarget = path < 0 ? "/" : rawTarget[path..];
        }

        var rest = rawTarget is not null && rawTarget.StartsWith(RoutePrefix, StringComparison.OrdinalIgnoreCase)
            ? rawTarget[RoutePrefix.Length..]
            : context.Request.Path.ToUriComponent()[RoutePrefix.Length..] + context.Request.QueryString;
        if (!rest.StartsWith('/'))
        {
            rest = "/" + rest;
        }

        return new Uri(_apiUrl + rest, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
    }
}
