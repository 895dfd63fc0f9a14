using System.Collections.Concurrent;

namespace WebexGateway.Soak;

/// <summary>One finished request: when (seconds since the load started), how long, and what came back.</summary>
/// <param name="Outcome">An HTTP status ("200", "503") or a failure without one ("timeout", "connection").</param>
/// <param name="Problem">Why a response with a good status is still wrong (another person's data), or null.</param>
/// <param name="Detail">For an error response: the gateway's <c>error</c> code, or <c>webex</c> when Webex's own error came through.</param>
internal readonly record struct Sample(int Instance, double Start, double End, double Milliseconds, string Outcome, string? Problem, string? Detail = null);

/// <summary>Samples from every worker; each worker appends to its own list.</summary>
internal sealed class Stats
{
    private readonly ConcurrentBag<List<Sample>> _lists = [];

    public List<Sample> NewList()
    {
        var list = new List<Sample>(1 << 16);
        _lists.Add(list);
        return list;
    }

    public List<Sample> All() => [.. _lists.SelectMany(l => l).OrderBy(s => s.End)];
}
