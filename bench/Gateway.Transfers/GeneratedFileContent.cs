using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace WebexGateway.Transfers;

/// <summary>
/// A message with a file as Webex's multipart form (<c>roomId</c>, <c>text</c>, one <c>files</c> part), the file's bytes
/// generated while they are sent, so the sender holds 1 MiB of them at most; its length is known up front.
/// </summary>
internal sealed class GeneratedFileContent : HttpContent
{
    private const string Boundary = "transfers-boundary-7d1c";
    private static readonly byte[] Block = RandomNumberGenerator.GetBytes(1024 * 1024);

    private readonly byte[] _head;
    private readonly byte[] _tail = Encoding.ASCII.GetBytes($"\r\n--{Boundary}--\r\n");

    public GeneratedFileContent(string roomId, long fileLength)
    {
        FileLength = fileLength;
        _head = Encoding.UTF8.GetBytes(
            $"--{Boundary}\r\nContent-Disposition: form-data; name=\"roomId\"\r\n\r\n{roomId}\r\n" +
            $"--{Boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\na file of {fileLength} bytes\r\n" +
            $"--{Boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n");
        Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={Boundary}");
        Headers.ContentLength = _head.Length + fileLength + _tail.Length;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var left = fileLength; left > 0; left -= Block.Length)
        {
            hash.AppendData(Block, 0, (int)Math.Min(left, Block.Length));
        }

        Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public long FileLength { get; }

    /// <summary>Lowercase hex, as the emulator reports a stored file's.</summary>
    public string Sha256 { get; }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await stream.WriteAsync(_head);
        for (var left = FileLength; left > 0; left -= Block.Length)
        {
            await stream.WriteAsync(Block.AsMemory(0, (int)Math.Min(left, Block.Length)));
        }

        await stream.WriteAsync(_tail);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = Headers.ContentLength!.Value;
        return true;
    }
}
