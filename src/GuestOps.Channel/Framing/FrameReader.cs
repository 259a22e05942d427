using System.Buffers;
using System.IO.Pipelines;

namespace GuestOps.Channel.Framing;

/// <summary>
/// Reads frames from a stream through a <see cref="PipeReader"/> (pooled buffers; partial reads of any size are
/// reassembled). Not thread-safe: one reader loop per connection.
/// </summary>
internal sealed class FrameReader : IAsyncDisposable
{
    private readonly PipeReader _pipe;

    public FrameReader(Stream stream, int maxPayload)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPayload);
        MaxPayload = maxPayload;
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true));
    }

    /// <summary>Largest payload accepted; can be changed between frames (e.g. after the handshake).</summary>
    public int MaxPayload { get; set; }

    /// <summary>
    /// Reads the next frame, or returns <c>null</c> when the peer closed the stream cleanly at a frame boundary.
    /// </summary>
    /// <exception cref="ChannelProtocolException">Oversized frame, or the stream ended inside a frame.</exception>
    public async ValueTask<Frame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryParse(ref buffer, out var frame))
            {
                _pipe.AdvanceTo(buffer.Start);
                return frame;
            }

            if (result.IsCompleted)
            {
                var leftover = buffer.Length;
                _pipe.AdvanceTo(buffer.End);
                if (leftover == 0)
                {
                    return null;
                }

                throw new ChannelProtocolException($"The stream ended inside a frame ({leftover} bytes of a partial frame).");
            }

            if (result.IsCanceled)
            {
                _pipe.AdvanceTo(buffer.Start, buffer.End);
                throw new OperationCanceledException("Frame read was canceled.");
            }

            // Need more bytes: mark everything examined so the next ReadAsync waits for new data.
            _pipe.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private bool TryParse(ref ReadOnlySequence<byte> buffer, out Frame? frame)
    {
        frame = null;
        if (buffer.Length < FrameHeader.Size)
        {
            return false;
        }

        Span<byte> headerBytes = stackalloc byte[FrameHeader.Size];
        buffer.Slice(0, FrameHeader.Size).CopyTo(headerBytes);
        var header = FrameHeader.Read(headerBytes, MaxPayload); // throws before we wait for an oversized payload
        var total = FrameHeader.Size + (long)header.PayloadLength;
        if (buffer.Length < total)
        {
            return false;
        }

        byte[]? payload = null;
        if (header.PayloadLength > 0)
        {
            payload = ArrayPool<byte>.Shared.Rent(header.PayloadLength);
            buffer.Slice(FrameHeader.Size, header.PayloadLength).CopyTo(payload);
        }

        buffer = buffer.Slice(total);
        frame = new Frame(header, payload);
        return true;
    }

    public ValueTask DisposeAsync() => _pipe.CompleteAsync();
}
