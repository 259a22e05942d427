using System.Buffers;
using System.IO.Pipelines;

namespace GuestOps.Channel.Framing;

/// <summary>
/// Reads frames from a stream through a <see cref="PipeReader"/> (pooled buffers; partial reads of any size are
/// reassembled). Not thread-safe: one reader loop per connection.
/// </summary>
internal sealed class FrameReader : IAsyncDisposable
{
    /// <summary>A payload from this size on whose rest is not buffered yet is read from the stream straight into the
    /// frame's buffer (one copy fewer per byte of file data, and one large read instead of several).</summary>
    private const int DirectReadBytes = 32 * 1024;

    private readonly PipeReader _pipe;
    private readonly Stream _stream;

    public FrameReader(Stream stream, int maxPayload)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPayload);
        MaxPayload = maxPayload;
        _stream = stream;
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
            if (TryParse(ref buffer, out var frame, out var header))
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

            if (header is { PayloadLength: >= DirectReadBytes } large)
            {
                return await ReadLargeAsync(buffer, large, cancellationToken).ConfigureAwait(false);
            }

            // Need more bytes: mark everything examined so the next ReadAsync waits for new data.
            _pipe.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Takes what the pipe holds of a large frame, then reads the rest from the stream into the frame's buffer.
    /// The pipe reads from the stream only inside ReadAsync, so nothing else reads the stream meanwhile.</summary>
    private async ValueTask<Frame> ReadLargeAsync(ReadOnlySequence<byte> buffer, FrameHeader header, CancellationToken cancellationToken)
    {
        var payload = ArrayPool<byte>.Shared.Rent(header.PayloadLength);
        try
        {
            var buffered = (int)(buffer.Length - FrameHeader.Size); // less than the payload, or TryParse would have taken it
            buffer.Slice(FrameHeader.Size).CopyTo(payload);
            _pipe.AdvanceTo(buffer.End);
            try
            {
                await _stream.ReadExactlyAsync(payload.AsMemory(buffered, header.PayloadLength - buffered), cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                throw new ChannelProtocolException($"The stream ended inside a frame ({FrameHeader.Size + buffered} bytes of a {FrameHeader.Size + header.PayloadLength}-byte frame).");
            }

            return new Frame(header, payload);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(payload);
            throw;
        }
    }

    /// <summary>Takes a whole frame off <paramref name="buffer"/> if it is there; <paramref name="header"/> is the next
    /// frame's header whenever the buffer holds one.</summary>
    private bool TryParse(ref ReadOnlySequence<byte> buffer, out Frame? frame, out FrameHeader? header)
    {
        frame = null;
        header = null;
        if (buffer.Length < FrameHeader.Size)
        {
            return false;
        }

        Span<byte> headerBytes = stackalloc byte[FrameHeader.Size];
        buffer.Slice(0, FrameHeader.Size).CopyTo(headerBytes);
        var next = FrameHeader.Read(headerBytes, MaxPayload); // throws before we wait for an oversized payload
        header = next;
        var total = FrameHeader.Size + (long)next.PayloadLength;
        if (buffer.Length < total)
        {
            return false;
        }

        byte[]? payload = null;
        if (next.PayloadLength > 0)
        {
            payload = ArrayPool<byte>.Shared.Rent(next.PayloadLength);
            buffer.Slice(FrameHeader.Size, next.PayloadLength).CopyTo(payload);
        }

        buffer = buffer.Slice(total);
        frame = new Frame(next, payload);
        return true;
    }

    public ValueTask DisposeAsync() => _pipe.CompleteAsync();
}
