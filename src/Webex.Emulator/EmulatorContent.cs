namespace Webex.Emulator;

/// <summary>A file posted with a message: where it was posted, its name and type as sent, its size and SHA-256 (lowercase hex).</summary>
public sealed record EmulatorContent(string Id, string RoomId, string FileName, string ContentType, long Length, string Sha256);
