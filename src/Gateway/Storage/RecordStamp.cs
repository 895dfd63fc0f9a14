namespace WebexGateway.Storage;

/// <summary>
/// Whether a record <see cref="RecordCache"/> served is still the one it holds, told without asking it again: the
/// version of the record's key and the cache's epoch are what they were when it was found, and the record's time to be
/// read again (which comes before its own end, and moves on each time it is read again unchanged) has not come. A caller
/// that holds on to a record checks this on every use.
/// </summary>
public readonly struct RecordStamp
{
    /// <summary>A stamp that holds for nothing: the record must be asked for again.</summary>
    public static readonly RecordStamp None;

    private readonly Counter? _version;
    private readonly long _versionSeen;
    private readonly Counter? _epoch;
    private readonly long _epochSeen;
    private readonly Due? _due;

    internal RecordStamp(Counter version, long versionSeen, Counter epoch, long epochSeen, Due due)
    {
        _version = version;
        _versionSeen = versionSeen;
        _epoch = epoch;
        _epochSeen = epochSeen;
        _due = due;
    }

    /// <summary>The <see cref="TimeProvider"/> timestamp from which the record must be asked for again, as it is now.</summary>
    public long ValidBefore => _due is null ? 0 : Volatile.Read(ref _due.ReadAgainAt);

    /// <summary>True while nothing has changed the record since it was found, and <paramref name="timestamp"/> is before <see cref="ValidBefore"/>.</summary>
    public bool Holds(long timestamp) =>
        timestamp < ValidBefore
        && Volatile.Read(ref _version!.Value) == _versionSeen
        && Volatile.Read(ref _epoch!.Value) == _epochSeen;

    /// <summary>
    /// True when <paramref name="other"/> was taken from the same cached record, at the same version and epoch: both hold,
    /// or end, together. A stamp that holds for nothing is the same as none.
    /// </summary>
    public bool IsSameAs(RecordStamp other)
        => _due is not null
           && ReferenceEquals(_due, other._due)
           && ReferenceEquals(_version, other._version) && _versionSeen == other._versionSeen
           && ReferenceEquals(_epoch, other._epoch) && _epochSeen == other._epochSeen;

    /// <summary>When a cached record is due to be read again: later each time a reading finds it unchanged.</summary>
    internal class Due
    {
        public long ReadAgainAt;
    }

    /// <summary>A count of changes, moved only after each change took effect.</summary>
    internal sealed class Counter
    {
        public long Value;
    }
}

/// <summary>A record as <see cref="RecordCache"/> served it (null when there is none), with its stamp.</summary>
public readonly record struct Stamped<T>(T? Value, RecordStamp Stamp)
    where T : class;
