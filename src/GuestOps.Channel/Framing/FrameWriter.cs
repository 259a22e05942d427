using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace GuestOps.Channel.Framing;

/// <summary>
/// The single writer of a connection. Every frame, control or data, goes through one FIFO queue, so frames never
/// interleave on the wire and a large transfer cannot starve control traffic: data senders queue at most one chunk per
/// stream at a time (they await its write), so a control frame queued behind them waits for at most one chunk per
/// active stream.
/// <para>
/// There is no writer thread: whoever queues a frame while nobody is writing becomes the writer and drains the queue
/// (frames queued meanwhile by others go out in the same batch, flushed once). When the transport takes the bytes at
/// once — the usual case — the frame is on the wire before <see cref="WriteAsync"/> returns, with no thread hand-off;
/// this matters for a mostly idle worker, whose every hand-off wakes a cold thread. When the transport pushes back,
/// the flush completes asynchronously and the drain continues there; queuing never blocks.
/// </para>
/// </summary>
internal sealed class FrameWriter : IAsyncDisposable
{
    private const int MaxBatchBytes = 256 * 1024;

    /// <summary>Payloads from this size on go from the frame's buffer straight to the transport (after the header and
    /// whatever was batched before it): one copy fewer per byte of file data.</summary>
    private const int DirectWriteBytes = 32 * 1024;

    private readonly ConcurrentQueue<OutgoingFrame> _queue = new();
    private readonly List<OutgoingFrame> _batch = new(16); // only touched by the current drainer
    private readonly PipeWriter _pipe;
    private readonly Stream _stream;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _draining; // 1 while one caller owns the pipe
    private volatile bool _completed; // no more frames accepted
    private volatile Exception? _failure;

    public FrameWriter(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _pipe = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    /// <summary>Completes once <see cref="Complete"/> was called and every queued frame is written (faulted if writing failed).</summary>
    public Task Completion => _completion.Task;

    /// <summary>Queues a frame and returns a task that completes once it has been written and flushed.</summary>
    public Task WriteAsync(FrameType type, uint streamId, ReadOnlySpan<byte> payload)
    {
        var frame = OutgoingFrame.Create(type, streamId, payload, withCompletion: true);
        if (!Enqueue(frame))
        {
            frame.Completion!.TrySetException(new ChannelClosedException(ChannelCloseReason.LocalClosed, "The channel is closed for writing.", _failure));
        }

        return frame.Completion!.Task;
    }

    /// <summary>
    /// Queues a frame whose payload is the caller's memory, without copying it: the caller must keep
    /// <paramref name="payload"/> intact until the returned task completes (written, or failed and never to be touched).
    /// For file data, which then goes from the caller's buffer to the transport in one copy.
    /// </summary>
    public Task WriteBorrowedAsync(FrameType type, uint streamId, ReadOnlyMemory<byte> payload)
    {
        var frame = OutgoingFrame.Borrow(type, streamId, payload);
        if (!Enqueue(frame))
        {
            frame.Completion!.TrySetException(new ChannelClosedException(ChannelCloseReason.LocalClosed, "The channel is closed for writing.", _failure));
        }

        return frame.Completion!.Task;
    }

    /// <summary>Queues a frame without waiting for it (used by the read loop, which must never wait for the writer).</summary>
    public bool Post(FrameType type, uint streamId, ReadOnlySpan<byte> payload) =>
        Enqueue(OutgoingFrame.Create(type, streamId, payload, withCompletion: false));

    /// <summary>Queues a frame whose payload is a (segmented) sequence, without waiting.</summary>
    public bool Post(FrameType type, uint streamId, ReadOnlySequence<byte> payload) =>
        payload.IsSingleSegment ? Post(type, streamId, payload.FirstSpan) : Enqueue(OutgoingFrame.Create(type, streamId, payload));

    /// <summary>No more frames will be accepted; already queued frames are still written.</summary>
    public void Complete()
    {
        _completed = true;
        TryDrain();
    }

    private bool Enqueue(OutgoingFrame frame)
    {
        if (_completed)
        {
            frame.Release();
            return false;
        }

        _queue.Enqueue(frame);
        TryDrain(); // also fails the frame if the writer completed meanwhile
        return true;
    }

    private void TryDrain()
    {
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            _ = DrainAsync(); // runs synchronously unless the transport pushes back
        }
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            var bytes = 0;
            try
            {
                while (bytes < MaxBatchBytes && _queue.TryDequeue(out var frame))
                {
                    if (_failure is not null || _completion.Task.IsCompleted)
                    {
                        FailFrame(frame); // queued after the end: the transport may be gone
                        continue;
                    }

                    _batch.Add(frame);
                    var size = FrameHeader.Size + frame.Length;
                    if (frame.Length >= DirectWriteBytes)
                    {
                        new FrameHeader(frame.Type, frame.StreamId, frame.Length).Write(_pipe.GetSpan(FrameHeader.Size));
                        _pipe.Advance(FrameHeader.Size);
                        if ((await _pipe.FlushAsync().ConfigureAwait(false)).IsCompleted)
                        {
                            throw new IOException("The transport no longer accepts data.");
                        }

                        await _stream.WriteAsync(frame.PayloadMemory).ConfigureAwait(false);
                    }
                    else
                    {
                        var span = _pipe.GetSpan(size);
                        new FrameHeader(frame.Type, frame.StreamId, frame.Length).Write(span);
                        frame.Payload.CopyTo(span[FrameHeader.Size..]);
                        _pipe.Advance(size);
                    }

                    bytes += size;
                    frame.Release();
                }

                if (_batch.Count > 0)
                {
                    var flush = await _pipe.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        throw new IOException("The transport no longer accepts data.");
                    }

                    foreach (var f in _batch)
                    {
                        f.Completion?.TrySetResult();
                    }
                }
            }
            catch (Exception ex)
            {
                _failure ??= ex;
                _completed = true;
                foreach (var f in _batch)
                {
                    FailFrame(f);
                }
            }

            _batch.Clear();
            if (bytes >= MaxBatchBytes)
            {
                continue; // more may be queued; keep the pipe
            }

            // Let go, then look again: a frame queued just before we let go found us still draining.
            Volatile.Write(ref _draining, 0);
            if (_queue.IsEmpty && _completed)
            {
                if (_failure is { } failure)
                {
                    _completion.TrySetException(failure);
                }
                else
                {
                    _completion.TrySetResult();
                }
            }

            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private void FailFrame(OutgoingFrame frame)
    {
        frame.Release();
        frame.Completion?.TrySetException(_failure is { } failure
            ? new ChannelClosedException(ChannelCloseReason.TransportError, "Writing to the channel failed.", failure)
            : new ChannelClosedException(ChannelCloseReason.LocalClosed, "The channel closed before the frame was written."));
    }

    public async ValueTask DisposeAsync()
    {
        Complete();
        try
        {
            await _completion.Task.ConfigureAwait(false);
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
        private ReadOnlyMemory<byte> _borrowed;

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

        public ReadOnlySpan<byte> Payload => PayloadMemory.Span;

        public ReadOnlyMemory<byte> PayloadMemory => _rented is null ? _borrowed : _rented.AsMemory(0, Length);

        /// <summary>A frame that refers to the caller's memory instead of copying it; the caller keeps it intact until the completion.</summary>
        public static OutgoingFrame Borrow(FrameType type, uint streamId, ReadOnlyMemory<byte> payload) =>
            new(type, streamId, rented: null, payload.Length, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)) { _borrowed = payload };

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
            _borrowed = default;
            var r = _rented;
            _rented = null;
            if (r is not null)
            {
                ArrayPool<byte>.Shared.Return(r);
            }
        }
    }
}
