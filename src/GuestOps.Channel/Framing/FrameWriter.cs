using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;

namespace GuestOps.Channel.Framing;

/// <summary>
/// The single writer of a connection. Every frame, control or data, goes through one FIFO queue drained by one
/// loop, so frames never interleave on the wire and a large transfer cannot starve control traffic: data senders
/// queue at most one chunk per stream at a time (they await its write), so a control frame queued behind them waits
/// for at most one chunk per active stream. Frames queued together are written in one batch and flushed once.
/// </summary>
internal sealed class FrameWriter : IAsyncDisposable
{
    private const int MaxBatchBytes = 256 * 1024;

    private readonly Channel<OutgoingFrame> _queue = System.Threading.Channels.Channel.CreateUnbounded<OutgoingFrame>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    private readonly PipeWriter _pipe;
    private readonly Task _loop;
    private Exception? _failure;

    public FrameWriter(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _pipe = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        _loop = Task.Run(WriteLoopAsync);
    }

    /// <summary>Completes when the write loop ends (faulted if writing failed).</summary>
    public Task Completion => _loop;

    /// <summary>Queues a frame and waits until it has been written and flushed.</summary>
    public Task WriteAsync(FrameType type, uint streamId, ReadOnlySpan<byte> payload)
    {
        var frame = OutgoingFrame.Create(type, streamId, payload, withCompletion: true);
        Enqueue(frame);
        return frame.Completion!.Task;
    }

    /// <summary>Queues a frame without waiting (used by the read loop, which must never block on the writer).</summary>
    public bool Post(FrameType type, uint streamId, ReadOnlySpan<byte> payload)
    {
        var frame = OutgoingFrame.Create(type, streamId, payload, withCompletion: false);
        if (!_queue.Writer.TryWrite(frame))
        {
            frame.Release();
            return false;
        }

        return true;
    }

    /// <summary>Queues a frame whose payload is a (segmented) sequence, without waiting.</summary>
    public bool Post(FrameType type, uint streamId, ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return Post(type, streamId, payload.FirstSpan);
        }

        var frame = OutgoingFrame.Create(type, streamId, payload);
        if (!_queue.Writer.TryWrite(frame))
        {
            frame.Release();
            return false;
        }

        return true;
    }

    /// <summary>No more frames will be accepted; already queued frames are still written.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    private void Enqueue(OutgoingFrame frame)
    {
        if (!_queue.Writer.TryWrite(frame))
        {
            frame.Release();
            frame.Completion!.TrySetException(new ChannelClosedException(ChannelCloseReason.LocalClosed, "The channel is closed for writing.", _failure));
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<OutgoingFrame>(16);
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                var bytes = 0;
                while (bytes < MaxBatchBytes && reader.TryRead(out var frame))
                {
                    batch.Add(frame);
                    var size = FrameHeader.Size + frame.Length;
                    var span = _pipe.GetSpan(size);
                    new FrameHeader(frame.Type, frame.StreamId, frame.Length).Write(span);
                    frame.Payload.CopyTo(span[FrameHeader.Size..]);
                    _pipe.Advance(size);
                    bytes += size;
                    frame.Release();
                }

                var flush = await _pipe.FlushAsync().ConfigureAwait(false);
                foreach (var f in batch)
                {
                    f.Completion?.TrySetResult();
                }

                batch.Clear();
                if (flush.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            _failure = ex;
            _queue.Writer.TryComplete(ex);
            var closed = new ChannelClosedException(ChannelCloseReason.TransportError, "Writing to the channel failed.", ex);
            foreach (var f in batch)
            {
                f.Completion?.TrySetException(closed);
            }

            throw;
        }
        finally
        {
            // Fail whatever is still queued.
            _queue.Writer.TryComplete();
            while (reader.TryRead(out var left))
            {
                left.Release();
                left.Completion?.TrySetException(new ChannelClosedException(ChannelCloseReason.LocalClosed, "The channel closed before the frame was written.", _failure));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Complete();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already surfaced through the frames' completions and the connection's close reason.
        }

        try
        {
            await _pipe.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The transport may already be gone.
        }
    }

    private sealed class OutgoingFrame
    {
        private byte[]? _rented;

        private OutgoingFrame(FrameType type, uint streamId, byte[]? rented, int length, TaskCompletionSource? completion)
        {
            Type = type;
            StreamId = streamId;
            _rented = rented;
            Length = length;
            Completion = completion;
        }

        public FrameType Type { get; }

        public uint StreamId { get; }

        public int Length { get; }

        public TaskCompletionSource? Completion { get; }

        public ReadOnlySpan<byte> Payload => _rented is null ? default : _rented.AsSpan(0, Length);

        public static OutgoingFrame Create(FrameType type, uint streamId, ReadOnlySpan<byte> payload, bool withCompletion)
        {
            byte[]? rented = null;
            if (!payload.IsEmpty)
            {
                rented = ArrayPool<byte>.Shared.Rent(payload.Length);
                payload.CopyTo(rented);
            }

            return new OutgoingFrame(type, streamId, rented, payload.Length,
                withCompletion ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null);
        }

        public static OutgoingFrame Create(FrameType type, uint streamId, ReadOnlySequence<byte> payload)
        {
            var length = checked((int)payload.Length);
            var rented = ArrayPool<byte>.Shared.Rent(length);
            payload.CopyTo(rented);
            return new OutgoingFrame(type, streamId, rented, length, completion: null);
        }

        public void Release()
        {
            var r = _rented;
            _rented = null;
            if (r is not null)
            {
                ArrayPool<byte>.Shared.Return(r);
            }
        }
    }
}
