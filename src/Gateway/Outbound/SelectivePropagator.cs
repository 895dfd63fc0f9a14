using OpenTelemetry.Context.Propagation;

namespace WebexGateway.Outbound;

/// <summary>
/// OpenTelemetry's HttpClient instrumentation injects trace context into every outgoing request, whatever the
/// handler's own propagator says. This one skips requests marked with <see cref="WebexHttp.NoTraceContext"/>:
/// the gateway's calls to Webex, unless <c>Telemetry:PropagateTraceContextToWebex</c> is on. Extraction is unchanged.
/// </summary>
internal sealed class SelectivePropagator(TextMapPropagator inner) : TextMapPropagator
{
    private static int _installed;

    public override ISet<string>? Fields => inner.Fields;

    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            OpenTelemetry.Sdk.SetDefaultTextMapPropagator(new SelectivePropagator(Propagators.DefaultTextMapPropagator));
        }
    }

    public override void Inject<T>(PropagationContext context, T carrier, Action<T, string, string> setter)
    {
        if (carrier is HttpRequestMessage request && request.Options.TryGetValue(WebexHttp.NoTraceContext, out var skip) && skip)
        {
            return;
        }

        inner.Inject(context, carrier, setter);
    }

    public override PropagationContext Extract<T>(PropagationContext context, T carrier, Func<T, string, IEnumerable<string>?> getter)
        => inner.Extract(context, carrier, getter);
}
