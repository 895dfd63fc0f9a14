using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Webex.Emulator.Internal;

/// <summary>A stored file: its bytes live in a temporary file so a 100 MB upload does not sit in memory.</summary>
internal sealed record StoredContent(string Id, string RoomId, string FileName, string ContentType, long Length, string Sha256, DateTimeOffset Created, string Path);

/// <summary>Files posted with messages (<c>/v1/contents/{id}</c>), kept in a private temporary folder deleted on dispose.</summary>
internal sealed class ContentStore : IDisposable
{
    private readonly ConcurrentDictionary<string, StoredContent> _contents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LockRule> _locks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _unscannable = new(StringComparer.Ordinal);
    private readonly Lazy<string> _folder = new(() =>
        Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "webex-emulator-" + Secrets.NewOpaqueId())).FullName);

    /// <summary>Copies the stream into a new temporary file; returns its path, length and SHA-256 (lowercase hex).</summary>
    public async Task<(string Path, long Length, string Sha256)> SpoolAsync(Stream source, long maxBytes, CancellationToken cancellationToken)
    {
        var path = System.IO.Path.Combine(_folder.Value, Secrets.NewOpaqueId());
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
            var buffer = new byte[81920];
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                length += read;
                if (length > maxBytes)
                {
                    throw new FileTooLargeException();
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch
        {
            Delete(path);
            throw;
        }

        return (path, length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    public void Add(StoredContent content) => _contents[content.Id] = content;

    public StoredContent? Get(string id) => _contents.GetValueOrDefault(id);

    public void Lock(string id, int times, int retryAfterSeconds) =>
        _locks[id] = new LockRule(Math.Max(0, times), Math.Max(0, retryAfterSeconds));

    /// <summary>Takes one locked answer; the Retry-After seconds when this request must answer 423.</summary>
    public int? TryConsumeLock(string id)
    {
        if (!_locks.TryGetValue(id, out var rule))
        {
            return null;
        }

        while (true)
        {
            var remaining = Volatile.Read(ref rule.Remaining);
            if (remaining <= 0)
            {
                return null;
            }

            if (Interlocked.CompareExchange(ref rule.Remaining, remaining - 1, remaining) == remaining)
            {
                return rule.RetryAfterSeconds;
            }
        }
    }

    public void SetUnscannable(string id, bool unscannable)
    {
        if (unscannable)
        {
            _unscannable[id] = true;
        }
        else
        {
            _unscannable.TryRemove(id, out _);
        }
    }

    public bool IsUnscannable(string id) => _unscannable.ContainsKey(id);

    public static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the folder goes on dispose.
        }
    }

    public void Dispose()
    {
        if (!_folder.IsValueCreated)
        {
            return;
        }

        try
        {
            Directory.Delete(_folder.Value, recursive: true);
        }
        catch (IOException)
        {
            // A reader still holds a file open; the OS temp cleaner takes it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class LockRule(int remaining, int retryAfterSeconds)
    {
        // A field, so Interlocked can update it.
        public int Remaining = remaining;

        public int RetryAfterSeconds { get; } = retryAfterSeconds;
    }
}

internal sealed class FileTooLargeException : Exception
{
    public FileTooLargeException()
        : base("The file is larger than Webex accepts.")
    {
    }
}
