using GuestOps.Client;

namespace GuestOps.Cli.Transfers;

/// <summary>
/// The HTTP side of file transfers: PUT or GET of the one-time /guestFile URL through the client's transfer
/// HttpClient (without the session cookie; a URL whose host is <c>*</c> gets the host and port this CLI called), with
/// progress, and an HTTP failure as one line naming the direction.
/// </summary>
public sealed class GuestFileTransfer(VimConnection connection, TransferProgress progress)
{
    public TransferProgress Progress { get; } = progress;

    /// <summary>PUTs <paramref name="length"/> bytes of <paramref name="source"/>; 200 or 201 is success.</summary>
    public async Task UploadAsync(string url, Stream source, long length, string description, CancellationToken cancellationToken)
    {
        await Progress.TrackAsync(description, length, async report =>
        {
            try
            {
                await connection.UploadAsync(url, new ProgressReadStream(source, report), length, cancellationToken);
            }
            catch (HttpRequestException e) when (e.StatusCode is not null)
            {
                throw new CliException($"upload: {e.Message}");
            }

            return true;
        });
    }

    /// <summary>GETs the file into <paramref name="destination"/>, leaving out its first <paramref name="skip"/> bytes;
    /// returns the bytes received (skipped ones included).</summary>
    public Task<long> DownloadAsync(string url, Stream destination, long expected, string description, CancellationToken cancellationToken, long skip = 0) =>
        Progress.TrackAsync(description, expected, async report =>
        {
            try
            {
                return await connection.DownloadAsync(url, new ProgressWriteStream(destination, skip, report), cancellationToken);
            }
            catch (HttpRequestException e) when (e.StatusCode is not null)
            {
                throw new CliException($"download: {e.Message}");
            }
            catch (HttpIOException e)
            {
                throw new CliException($"download: {e.Message}");
            }
        });

    /// <summary>A read-only view of a stream that reports how many bytes were read.</summary>
    private sealed class ProgressReadStream(Stream inner, Action<long> report) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int n)
        {
            _read += n;
            report(_read);
            return n;
        }
    }

    /// <summary>A write-only view of a stream that drops the first <c>skip</c> bytes written and reports how many
    /// bytes were written (dropped ones included).</summary>
    private sealed class ProgressWriteStream(Stream inner, long skip, Action<long> report) : Stream
    {
        private long _received;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _received; set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var start = (int)Math.Clamp(skip - _received, 0, buffer.Length);
            if (start < buffer.Length)
            {
                await inner.WriteAsync(buffer[start..], cancellationToken);
            }

            Count(buffer.Length);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count)
        {
            var start = (int)Math.Clamp(skip - _received, 0, count);
            if (start < count)
            {
                inner.Write(buffer, offset + start, count - start);
            }

            Count(count);
        }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        private void Count(int n)
        {
            _received += n;
            report(_received);
        }
    }
}
