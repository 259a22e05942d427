using GuestOps.Channel.Messages;

namespace GuestOps.Channel.Connection;

/// <summary>
/// A request this side sent, with its optional data streams. Dispose it when done: disposing before the response
/// arrived cancels the request on the peer.
/// </summary>
public sealed class ChannelCall : IAsyncDisposable
{
    private readonly ChannelConnection _connection;
    private readonly TaskCompletionSource<ChannelResponse> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _canceled;
    private int _disposed;

    internal ChannelCall(ChannelConnection connection, uint id, ChannelRequest request, CallStreams streams)
    {
        _connection = connection;
        Id = id;
        Request = request;
        Streams = streams;
    }

    /// <summary>The request id (odd for host-initiated calls, even for worker-initiated ones).</summary>
    public uint Id { get; }

    public ChannelRequest Request { get; }

    /// <summary>Completes with the peer's response; canceled if the call is canceled; faults if the connection ends.</summary>
    public Task<ChannelResponse> Response => _response.Task;

    /// <summary>Bytes to send to the peer along with this request (e.g. a file upload).</summary>
    public ChannelDataWriter RequestData => Streams.Outbound;

    /// <summary>Bytes the peer sends back for this request (e.g. a file download).</summary>
    public ChannelDataReader ResponseData => Streams.Inbound;

    internal CallStreams Streams { get; }

    /// <summary>Waits for the response; if <paramref name="cancellationToken"/> fires first, the peer is told to cancel.</summary>
    public async Task<ChannelResponse> GetResponseAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _response.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Cancel();
            throw;
        }
    }

    /// <summary>Sends a cancel for this request (once) and stops waiting for its response.</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _canceled, 1) != 0 || _response.Task.IsCompleted)
        {
            return;
        }

        _connection.PostCancel(Id);
        _response.TrySetCanceled();
        Streams.Fail(new ChannelDataAbortedException($"Call {Id} was canceled."));
    }

    internal void OnResponse(ChannelResponse response)
    {
        if (_response.TrySetResult(response))
        {
            // The peer has finished the call: it reads no more request data.
            Streams.FailOutbound(new ChannelDataAbortedException($"The peer finished call {Id}."));
        }
    }

    internal void OnConnectionClosed(ChannelClosedException error)
    {
        _response.TrySetException(error);
        Streams.Fail(new ChannelDataAbortedException(error.Message, error));
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        if (!_response.Task.IsCompleted)
        {
            Cancel();
        }

        _connection.Unregister(this);
        Streams.Fail(new ChannelDataAbortedException($"Call {Id} was disposed."));
        return ValueTask.CompletedTask;
    }
}
