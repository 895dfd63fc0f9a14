namespace Webex.Emulator;

/// <summary>
/// An API request as it arrived. <paramref name="RawTarget"/> is the request target exactly as sent on the wire
/// (e.g. <c>/v1/rooms/abc%2Fdef?max=2</c>); <paramref name="Headers"/> maps a case-insensitive name to its comma-joined values.
/// <paramref name="Body"/> is empty when the body was larger than 1 MiB (a file upload): <see cref="BodyLength"/> still gives its size.
/// </summary>
public sealed record RecordedRequest(string Method, string RawTarget, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public long BodyLength { get; init; } = Body.Length;
}
