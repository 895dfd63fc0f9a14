using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace WebexGateway.Allocations;

/// <summary>
/// The runtime's allocation samples (<c>GCAllocationTick</c>: one about every 100 KB allocated, naming the type of the
/// object that crossed the mark and the bytes allocated since the last one), summed per type while it is on. A type's
/// sum estimates its share of the bytes allocated; types allocated in small numbers may not show at all.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private EventSource? _runtime;
    private volatile bool _on;

    public void Start()
    {
        _bytes.Clear();
        _on = true;
        EnableEvents(_runtime ?? throw new InvalidOperationException("the runtime's event source is not there"), EventLevel.Verbose, GcKeyword);
    }

    /// <summary>Bytes per type, estimated from the samples taken since <see cref="Start"/>.</summary>
    public IReadOnlyDictionary<string, long> Stop()
    {
        DisableEvents(_runtime!);
        // Samples are delivered on the runtime's event thread: give the last ones a moment to arrive.
        Thread.Sleep(500);
        _on = false;
        return new Dictionary<string, long>(_bytes);
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == RuntimeSource)
        {
            _runtime = eventSource;
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_on || eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.PayloadNames is null)
        {
            return;
        }

        var type = eventData.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload![t] as string : null;
        var amount = eventData.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload![a], System.Globalization.CultureInfo.InvariantCulture) : 0;
        _bytes.AddOrUpdate(type ?? "?", amount, (_, sum) => sum + amount);
    }
}
