using System.IO.Pipelines;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;

namespace GuestOps.Host.Dispatch;

/// <summary>
/// A guest call with data (a file transfer). An upload sends its bytes with <see cref="SendRequestDataAsync"/> (or
/// gives up with <see cref="AbortRequestDataAsync"/>); a download reads <see cref="ResponseData"/> to its end. Either
/// then awaits <see cref="GetResponseAsync"/>. Disposing it before the response cancels the call in the guest (an
/// upload then leaves nothing behind) and frees its transfer slot.
/// </summary>
public sealed class GuestDataCall : IAsyncDisposable
{
    private readonly ChannelCall _call;
    private readonly string _vmId;
    private Action? _release;
    private long _requestBytes;

    internal GuestDataCall(ChannelCall call, string vmId, Action release)
    {
        _call = call;
        _vmId = vmId;
        _release = release;
        ResponseData = new ResponseDataStream(call.ResponseData);
    }

    /// <summary>Bytes of the request data the guest has been sent so far.</summary>
    public long RequestBytes => Interlocked.Read(ref _requestBytes);

    /// <summary>Bytes from the guest: a read-only stream that ends (0) when the worker finished sending and throws
    /// <see cref="GuestDataAbortedException"/> (an <see cref="IOException"/>) when it aborted or the call ended.</summary>
    public Stream ResponseData { get; }

    /// <summary>
    /// Sends <paramref name="source"/> to the end as the request data, then its end-of-data. The worker's credit is
    /// the backpressure: at most one window is in flight and nothing is held here. Returns true when the whole source
    /// went to the guest; false when the worker finished the call first (it failed or went away; the response says
    /// why), in which case the source is left unread from there. An exception of <paramref name="source"/> (the client
    /// went away, or sent more than allowed) or a cancellation propagates, after the source's buffer is handed back;
    /// the caller then tells the guest with <see cref="AbortRequestDataAsync"/>.
    /// </summary>
    public async Task<bool> SendRequestDataAsync(PipeReader source, CancellationToken cancellationToken)
    {
        var data = _call.RequestData;

        // Waiting for the source must end when the worker is done early: the pending read is cancelled the Pipelines
        // way (a token would leave a reader such as Kestrel's request body mid-read).
        var workerDone = false;
        _ = _call.Response.ContinueWith(
            _ =>
            {
                Volatile.Write(ref workerDone, true);
                source.CancelPendingRead();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        try
        {
            while (true)
            {
                var read = await source.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = read.Buffer;
                if (read.IsCanceled && Volatile.Read(ref workerDone))
                {
                    source.AdvanceTo(buffer.Start);
                    return false;
                }

                if (buffer.Length < data.ChunkSize && !read.IsCompleted)
                {
                    // Kestrel hands a body out in small segments: gather a whole frame's worth first.
                    source.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                try
                {
                    await data.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // Hand the buffer back, or the source stays mid-read (Kestrel then fails to finish the request:
                    // "Reading is already in progress").
                    source.AdvanceTo(buffer.Start, buffer.End);
                    throw;
                }

                Interlocked.Add(ref _requestBytes, buffer.Length);
                source.AdvanceTo(buffer.End);
                if (read.IsCompleted)
                {
                    await data.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    return true;
                }
            }
        }
        catch (ChannelDataAbortedException)
        {
            // The worker finished the call early; its response says why.
            return false;
        }
    }

    /// <summary>Tells the guest the request data is incomplete (it drops what it received). Idempotent.</summary>
    public async Task AbortRequestDataAsync(string reason)
    {
        try
        {
            await _call.RequestData.AbortAsync(reason).ConfigureAwait(false);
        }
        catch (ChannelException)
        {
            // The connection is gone: the guest drops the partial data anyway.
        }
    }

    /// <summary>The worker's answer (success or guest error). Throws <see cref="GuestAgentException"/> when the
    /// worker went away.</summary>
    public async Task<ChannelResponse> GetResponseAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _call.GetResponseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelException e)
        {
            throw new GuestAgentException(GuestAgentFailure.Unavailable, $"The guest agent of VM {_vmId} went away during the transfer.", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _call.DisposeAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _release, null)?.Invoke();
    }

    /// <summary>The channel's data reader as a plain read-only stream: its aborts surface as
    /// <see cref="GuestDataAbortedException"/>.</summary>
    private sealed class ResponseDataStream(ChannelDataReader inner) : SequentialReadStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelDataAbortedException e)
            {
                throw new GuestDataAbortedException(e.Message, e);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>The data of a guest call ended short: the worker aborted it, or the call or its channel ended.</summary>
public sealed class GuestDataAbortedException(string message, Exception? inner = null) : IOException(message, inner);
