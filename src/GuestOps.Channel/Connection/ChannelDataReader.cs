using System.Buffers;

namespace GuestOps.Channel.Connection;

/// <summary>
/// The receiving end of one raw data stream (the bytes the peer sends for a request id). Read it like any
/// <see cref="Stream"/>; it returns 0 at the sender's end-of-data and throws <see cref="ChannelDataAbortedException"/>
/// if the sender aborted.
/// <para>
/// Flow control: at most <see cref="Window"/> bytes are ever buffered. The peer starts with that much credit and
/// gets more only as this reader is read (credit is returned in batches of a quarter window), so a reader that stops
/// reading stops the sender after one window, without stopping the rest of the connection. Disposing the reader
/// before the end discards further data but keeps returning credit, so the sender is never wedged; cancel the call
/// to stop it.
/// </para>
/// </summary>
public sealed class ChannelDataReader : SequentialReadStream
{
    private readonly object _lock = new();
    private readonly Queue<Segment> _segments = new();
    private readonly Action<int> _grantCredit;
    private readonly int _grantThreshold;
    private int _buffered;
    private int _headOffset;
    private int _consumedSinceGrant;
    private long _totalReceived;
    private bool _ended;
    private bool _discarding;
    private Exception? _error;
    private TaskCompletionSource? _waiter;

    internal ChannelDataReader(uint streamId, int window, Action<int> grantCredit)
    {
        StreamId = streamId;
        Window = window;
        _grantCredit = grantCredit;
        _grantThreshold = Math.Max(1, window / 4);
    }

    /// <summary>The request id this stream belongs to.</summary>
    public uint StreamId { get; }

    /// <summary>The most bytes this reader buffers.</summary>
    public int Window { get; }

    /// <summary>Bytes received and not yet read (never above <see cref="Window"/>).</summary>
    public int BufferedBytes
    {
        get
        {
            lock (_lock)
            {
                return _buffered;
            }
        }
    }

    /// <summary>Total bytes received so far.</summary>
    public long TotalReceived => Interlocked.Read(ref _totalReceived);

    /// <summary>Called by the read loop with a pooled payload (ownership moves here). Never blocks.</summary>
    internal void OnData(byte[]? pooled, int length)
    {
        var grant = 0;
        TaskCompletionSource? wake;
        lock (_lock)
        {
            if (_ended || _error is not null)
            {
                Return(pooled);
                throw new ChannelProtocolException($"Data received on stream {StreamId} after its end.");
            }

            if (_buffered + length > Window)
            {
                Return(pooled);
                throw new ChannelProtocolException(
                    $"The peer overran the window of stream {StreamId} ({_buffered} + {length} > {Window} bytes).");
            }

            _totalReceived += length;
            if (_discarding || length == 0)
            {
                Return(pooled);
                grant = length;
            }
            else
            {
                _segments.Enqueue(new Segment(pooled!, length));
                _buffered += length;
            }

            wake = TakeWaiter();
        }

        if (grant > 0)
        {
            _grantCredit(grant);
        }

        wake?.TrySetResult();
    }

    internal void OnEnd()
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            _ended = true;
            wake = TakeWaiter();
        }

        wake?.TrySetResult();
    }

    /// <summary>Ends the stream with an error (peer abort, call ended, connection closed). Idempotent.</summary>
    internal void Fail(Exception error)
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            if (_ended || _error is not null)
            {
                return;
            }

            _error = error;
            wake = TakeWaiter();
        }

        wake?.TrySetResult();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_segments.Count > 0)
                {
                    return CopyOut(buffer.Span);
                }

                if (_error is not null)
                {
                    throw _error as ChannelDataAbortedException ?? new ChannelDataAbortedException(_error.Message, _error);
                }

                if (_ended)
                {
                    return 0;
                }

                ObjectDisposedException.ThrowIf(_discarding, this);
                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private int CopyOut(Span<byte> destination)
    {
        // Caller holds _lock.
        var copied = 0;
        while (copied < destination.Length && _segments.Count > 0)
        {
            var head = _segments.Peek();
            var available = head.Length - _headOffset;
            var n = Math.Min(available, destination.Length - copied);
            head.Buffer.AsSpan(_headOffset, n).CopyTo(destination[copied..]);
            copied += n;
            _headOffset += n;
            if (_headOffset == head.Length)
            {
                _segments.Dequeue();
                _headOffset = 0;
                ArrayPool<byte>.Shared.Return(head.Buffer);
            }
        }

        _buffered -= copied;
        _consumedSinceGrant += copied;
        if (_consumedSinceGrant >= _grantThreshold && !_ended && _error is null)
        {
            var grant = _consumedSinceGrant;
            _consumedSinceGrant = 0;
            _grantCredit(grant); // posts a frame; never blocks
        }

        return copied;
    }

    private TaskCompletionSource? TakeWaiter()
    {
        var w = _waiter;
        _waiter = null;
        return w;
    }

    private static void Return(byte[]? pooled)
    {
        if (pooled is not null)
        {
            ArrayPool<byte>.Shared.Return(pooled);
        }
    }

    /// <summary>Releases buffered data. Data still arriving is dropped but credited, so the sender does not stall.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            var grant = 0;
            TaskCompletionSource? wake;
            lock (_lock)
            {
                _discarding = true;
                while (_segments.Count > 0)
                {
                    ArrayPool<byte>.Shared.Return(_segments.Dequeue().Buffer);
                }

                _headOffset = 0;
                grant = _buffered + _consumedSinceGrant;
                _buffered = 0;
                _consumedSinceGrant = 0;
                if (_ended || _error is not null)
                {
                    grant = 0;
                }

                wake = TakeWaiter();
            }

            if (grant > 0)
            {
                _grantCredit(grant);
            }

            wake?.TrySetResult();
        }

        base.Dispose(disposing);
    }

    private readonly record struct Segment(byte[] Buffer, int Length);
}
