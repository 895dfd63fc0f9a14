namespace WebexGateway.Storage;

/// <summary>
/// Whether a record <see cref="RecordCache"/> served is still the one it holds, told without asking it again: the
/// version of the record's key and the cache's epoch are what they were when it was found, and the time to read it again
/// (which comes before the entry's own end) has not come. A caller that holds on to a record checks this on every use.
/// </summary>
public readonly struct RecordStamp
{
    /// <summary>A stamp that holds for nothing: the record must be asked for again.</summary>
    public static readonly RecordStamp None;

    private readonly Counter? _version;
    private readonly long _versionSeen;
    private readonly Counter? _epoch;
    private readonly long _epochSeen;

    internal RecordStamp(Counter version, long versionSeen, Counter epoch, long epochSeen, long readAgainAt)
    {
        _version = version;
        _versionSeen = versionSeen;
        _epoch = epoch;
        _epochSeen = epochSeen;
        ValidBefore = readAgainAt;
    }

    /// <summary>The <see cref="TimeProvider"/> timestamp from which the record must be asked for again.</summary>
    public long ValidBefore { get; }

    /// <summary>True while nothing has changed the record since it was found, and <paramref name="timestamp"/> is before <see cref="ValidBefore"/>.</summary>
    public bool Holds(long timestamp) =>
        timestamp < ValidBefore
        && _version is not null && Volatile.Read(ref _version.Value) == _versionSeen
        && Volatile.Read(ref _epoch!.Value) == _epochSeen;

    /// <summary>A count of changes, moved only after each change took effect.</summary>
    internal sealed class Counter
    {
        public long Value;
    }
}

/// <summary>A record as <see cref="RecordCache"/> served it (null when there is none), with its stamp.</summary>
public readonly record struct Stamped<T>(T? Value, RecordStamp Stamp)
    where T : class;
