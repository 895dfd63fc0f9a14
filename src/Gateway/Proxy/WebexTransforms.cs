using System.Collections.Frozen;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using WebexGateway.Configuration;
using WebexGateway.Outbound;
using WebexGateway.Telemetry;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace WebexGateway.Proxy;

/// <summary>
/// The transforms of a Webex route (user or bot token): the raw request target, the call's Bearer and nothing of the
/// browser's credentials or forwarding headers on the way out; Link headers pointed back at the route on the way in.
/// App routes keep YARP's defaults, minus the gateway's own cookies.
/// </summary>
public sealed class WebexTransforms(IOptions<WebexOptions> webex, IOptions<TelemetryOptions> telemetry, GatewayMetrics metrics) : ITransformProvider
{
    private static readonly FrozenSet<string> TraceContextHeaders =
        new[] { "traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenSet<string> WithheldHeaders = new[]
    {
        HeaderNames.Host, HeaderNames.Cookie, HeaderNames.Authorization, "Forwarded",
        HeaderNames.Connection, HeaderNames.TransferEncoding, HeaderNames.KeepAlive, HeaderNames.Upgrade, HeaderNames.ProxyConnection,
        HeaderNames.ProxyAuthenticate, "Proxy-Authentication-Info", HeaderNames.ProxyAuthorization, "Proxy-Features", "Proxy-Instruction",
        "Security-Scheme", "ALPN", "Close", "HTTP2-Settings", HeaderNames.UpgradeInsecureRequests, HeaderNames.TE, HeaderNames.AltSvc,
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private readonly string _apiUrl = webex.Value.ApiUrl!;
    private readonly bool _propagateTraceContext = telemetry.Value.PropagateTraceContextToWebex;

    // Only OpenTelemetry's HttpClient instrumentation, there when spans are recorded, reads the mark: the forwarder's
    // own propagator sends nothing (WebexForwarderHttpClientFactory), and a request with no mark allocates no options.
    private readonly bool _markNoTraceContext = !telemetry.Value.PropagateTraceContextToWebex && telemetry.Value.RecordsTraces;

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        var token = RouteToken.Of(context.Route.Metadata);
        if (!token.SendsWebexToken)
        {
            // An app route: its upstream (a dev server, a static site) never sees the gateway's session or sign-in cookies.
            context.AddRequestTransform(RemoveGatewayCookies);
            context.AddResponseTransform(NoSniff);
            return;
        }

        // Start-up validation guarantees the form <prefix>/{**path}.
        var path = UpstreamPath.Of(context.Route);
        context.UseDefaultForwarders = false;
        context.CopyRequestHeaders = false;
        context.AddRequestTransform(request => TransformRequest(request, path));
        context.AddResponseTransform(response => TransformResponse(response, path));
    }

    private static ValueTask RemoveGatewayCookies(RequestTransformContext context)
    {
        var headers = context.ProxyRequest.Headers;
        if (!headers.TryGetValues("Cookie", out var values))
        {
            return ValueTask.CompletedTask;
        }

        var kept = values
            .SelectMany(v => v.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Where(pair => !IsGatewayCookie(pair.Split('=', 2)[0].Trim()))
            .ToList();
        headers.Remove("Cookie");
        if (kept.Count > 0)
        {
            headers.TryAddWithoutValidation("Cookie", string.Join("; ", kept));
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The session cookie and the sign-in's correlation cookie (ASP.NET Core's name, or the gateway's over https).</summary>
    private static bool IsGatewayCookie(string name) =>
        name is Auth.AuthExtensions.SessionCookieName or Auth.AuthExtensions.SecureSessionCookieName
        || name.StartsWith(".AspNetCore.", StringComparison.Ordinal)
        || name.StartsWith(Auth.AuthExtensions.SecureCorrelationCookiePrefix, StringComparison.Ordinal);

    private ValueTask TransformRequest(RequestTransformContext context, UpstreamPath path)
    {
        var incoming = context.HttpContext.Request.Headers;
        var smuggling = incoming.ContainsKey(HeaderNames.TransferEncoding) && incoming.ContainsKey(HeaderNames.ContentLength);
        foreach (var (name, values) in incoming)
        {
            if (!IsWithheld(name) && !(smuggling && name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)))
            {
                RequestTransform.AddHeader(context, name, values);
            }
        }

        if (_markNoTraceContext)
        {
            // The frontend's trace context stops here: Webex learns nothing of the caller's traces unless ops turn it on.
            context.ProxyRequest.Options.Set(WebexHttp.NoTraceContext, true);
        }

        var call = context.HttpContext.Features.GetRequiredFeature<WebexCall>();
        context.ProxyRequest.Headers.TryAddWithoutValidation(HeaderNames.Authorization, call.Authorization);
        context.ProxyRequest.RequestUri = new Uri(path.UrlOf(_apiUrl, context.HttpContext),
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The headers of the browser's request that Webex never sees: its credentials (the gateway's cookies, any
    /// Authorization of its own), its forwarding chain, hop-by-hop headers (the ones YARP itself never copies), the Host
    /// (Webex's own is sent) and, unless ops turned it on, its trace context. The rest is copied once, here, rather than
    /// copied by YARP and then taken out again.
    /// </summary>
    private bool IsWithheld(string name) =>
        name.StartsWith(':')
        || WithheldHeaders.Contains(name)
        || name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase)
        || (!_propagateTraceContext && TraceContextHeaders.Contains(name));

    /// <summary>
    /// YARP appends the upstream's headers to the ones already set, so the gateway's own is set again, once: the answer
    /// may also have been cleared for a replay since the security headers were first set.
    /// </summary>
    private static ValueTask NoSniff(ResponseTransformContext context)
    {
        context.HttpContext.Response.Headers.XContentTypeOptions = Edge.SecurityHeaders.NoSniff;
        return ValueTask.CompletedTask;
    }

    private ValueTask TransformResponse(ResponseTransformContext context, UpstreamPath path)
    {
        var response = context.ProxyResponse;
        if (response is null)
        {
            return ValueTask.CompletedTask;
        }

        var headers = context.HttpContext.Response.Headers;
        headers.XContentTypeOptions = Edge.SecurityHeaders.NoSniff;
        if (ContentsDownload.IsContents(context.HttpContext, path) || !IsJsonOrEmpty(headers.ContentType))
        {
            // A file, or anything else Webex answers that is not JSON: it must not display as a page of the gateway's origin.
            ContentsDownload.Secure(context.HttpContext.Response);
        }

        metrics.UpstreamResponse((int)response.StatusCode);
        if (GatewayTelemetry.RecordedServerSpan(context.HttpContext) is { } activity
            && response.Headers.TryGetValues("TrackingID", out var trackingIds))
        {
            activity.SetTag("webex.tracking_id", trackingIds.FirstOrDefault());
        }

        if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized
            && context.HttpContext.Features.GetRequiredFeature<WebexCall>().HoldBackUnauthorized)
        {
            // Unstarted, so the replay middleware can answer in its place.
            context.SuppressResponseBody = true;
        }

        var links = context.HttpContext.Response.Headers.Link;
        if (links.Count > 0)
        {
            context.HttpContext.Response.Headers.Link = LinkHeaders.Rewrite(links, _apiUrl, path.GatewayPrefix);
        }

        return ValueTask.CompletedTask;
    }

    private static bool IsJsonOrEmpty(StringValues contentType) =>
        contentType.Count == 0 || (contentType.Count == 1 && contentType[0].AsSpan().StartsWith("application/json", StringComparison.OrdinalIgnoreCase));
}
