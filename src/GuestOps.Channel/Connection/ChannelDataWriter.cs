using System.Buffers;
using System.Text;
using GuestOps.Channel.Framing;

namespace GuestOps.Channel.Connection;

/// <summary>
/// The sending end of one raw data stream (bytes this side sends for a request id). Writes are split into chunks
/// of at most <see cref="ChunkSize"/> bytes and wait for credit from the peer: the peer never has more than its
/// window buffered, and this side never has more than one window queued, so memory stays bounded on both sides
/// however slow the reader is. Finish with <see cref="CompleteAsync"/> (or dispose) or <see cref="AbortAsync"/>.
/// </summary>
public sealed class ChannelDataWriter : SequentialWriteStream
{
    private readonly object _lock = new();
    private readonly FrameWriter _frames;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private long _credit;
    private long _bytesSent;
    private bool _finished;
    private Exception? _error;
    private TaskCompletionSource? _creditWaiter;

    internal ChannelDataWriter(uint streamId, FrameWriter frames, int initialCredit, int chunkSize)
    {
        StreamId = streamId;
        _frames = frames;
        _credit = initialCredit;
        ChunkSize = chunkSize;
    }

    /// <summary>The request id this stream belongs to.</summary>
    public uint StreamId { get; }

    /// <summary>Largest payload per data frame.</summary>
    public int ChunkSize { get; }

    /// <summary>Bytes handed to the transport so far.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Bytes the peer currently allows this side to send.</summary>
    public long AvailableCredit
    {
        get
        {
            lock (_lock)
            {
                return _credit;
            }
        }
    }

    /// <summary>True once ended, aborted or failed.</summary>
    public bool IsFinished
    {
        get
        {
            lock (_lock)
            {
                return _finished || _error is not null;
            }
        }
    }

    internal void AddCredit(int bytes)
    {
        if (bytes <= 0)
        {
            return;
        }

        TaskCompletionSource? wake;
        lock (_lock)
        {
            _credit += bytes;
            wake = _creditWaiter;
            _creditWaiter = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>The stream can no longer be written (call ended, connection closed). Idempotent.</summary>
    internal void Fail(Exception error)
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            if (_error is not null)
            {
                return;
            }

            _error = error;
            wake = _creditWaiter;
            _creditWaiter = null;
        }

        wake?.TrySetResult();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!buffer.IsEmpty)
            {
                var n = await AcquireCreditAsync(buffer.Length, cancellationToken).ConfigureAwait(false);
                await SendBorrowedAsync(buffer[..n]).ConfigureAwait(false);
                buffer = buffer[n..];
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Sends a (possibly segmented) buffer in as few frames as the chunk size allows: e.g. a Kestrel request
    /// body, whose pipe hands out 4 KiB segments, leaves in 128 KiB frames rather than one frame per segment.</summary>
    public async ValueTask WriteAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!data.IsEmpty)
            {
                var n = await AcquireCreditAsync((int)Math.Min(data.Length, int.MaxValue), cancellationToken).ConfigureAwait(false);
                Send(data.Slice(0, n));
                data = data.Slice(n);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Waits for credit and takes up to one chunk of it (at most <paramref name="wanted"/>).</summary>
    private async ValueTask<int> AcquireCreditAsync(int wanted, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                ThrowIfUnwritable();
                if (_credit > 0)
                {
                    var n = (int)Math.Min(Math.Min(_credit, ChunkSize), wanted);
                    _credit -= n;
                    return n;
                }

                _creditWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _creditWaiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Queues one data frame, not awaited: the frame holds its own copy, and the peer's credit already bounds
    /// how much of this stream can wait in the writer's queue. The writer loop stays busy while the next chunk comes.</summary>
    private void Send(ReadOnlySequence<byte> chunk)
    {
        if (!_frames.Post(FrameType.Data, StreamId, chunk))
        {
            throw new ChannelDataAbortedException($"Data stream {StreamId}: the channel is closed for writing.");
        }

        Interlocked.Add(ref _bytesSent, chunk.Length);
    }

    /// <summary>
    /// Sends one data frame straight from the caller's buffer and returns once it is on the transport (no copy: the
    /// caller may reuse the buffer afterwards). Not cancellable once queued — the peer's credit guarantees it reads,
    /// so the write completes, or fails with the connection.
    /// </summary>
    private async ValueTask SendBorrowedAsync(ReadOnlyMemory<byte> chunk)
    {
        try
        {
            await _frames.WriteBorrowedAsync(FrameType.Data, StreamId, chunk).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new ChannelDataAbortedException($"Data stream {StreamId}: the channel is closed for writing.", e);
        }

        Interlocked.Add(ref _bytesSent, chunk.Length);
    }

    /// <summary>Sends end-of-data. Idempotent; does nothing if the stream already failed.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                if (_finished || _error is not null)
                {
                    return;
                }

                _finished = true;
            }

            await _frames.WriteAsync(FrameType.DataEnd, StreamId, default).ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Tells the peer the data is incomplete. Idempotent.</summary>
    public Task AbortAsync(string reason)
    {
        lock (_lock)
        {
            if (_finished || _error is not null)
            {
                return Task.CompletedTask;
            }

            _finished = true;
        }

        var bytes = Encoding.UTF8.GetBytes(reason.Length > 512 ? reason[..512] : reason);
        return _frames.WriteAsync(FrameType.DataAbort, StreamId, bytes);
    }

    private void ThrowIfUnwritable()
    {
        if (_error is not null)
        {
            throw _error as ChannelDataAbortedException ?? new ChannelDataAbortedException(_error.Message, _error);
        }

        if (_finished)
        {
            throw new InvalidOperationException($"Data stream {StreamId} is already finished.");
        }
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await CompleteAsync().ConfigureAwait(false);
        }
        catch (ChannelException)
        {
            // The connection is gone; nothing to finish.
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                CompleteAsync().GetAwaiter().GetResult();
            }
            catch (ChannelException)
            {
            }
        }

        base.Dispose(disposing);
    }
}
