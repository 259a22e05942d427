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

    // A call that keeps the response as the peer's JSON (KeepsJson) completes this one instead of _response.
    private readonly TaskCompletionSource<byte[]>? _responseJson;
    private int _canceled;
    private int _disposed;

    internal ChannelCall(ChannelConnection connection, uint id, string operation, bool keepsJson, CallStreams streams)
    {
        _connection = connection;
        Id = id;
        Operation = operation;
        Streams = streams;
        _responseJson = keepsJson ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;
    }

    /// <summary>The request id (odd for host-initiated calls, even for worker-initiated ones).</summary>
    public uint Id { get; }

    /// <summary>The request's operation (its JSON type tag).</summary>
    public string Operation { get; }

    /// <summary>Completes with the peer's response; canceled if the call is canceled; faults if the connection ends.
    /// Never completes for a call that keeps the response's JSON (<see cref="ChannelConnection.SendJsonAsync"/>).</summary>
    public Task<ChannelResponse> Response => _response.Task;

    /// <summary>Whether the peer's response is kept as the JSON it sent, unread (<see cref="ChannelConnection.SendJsonAsync"/>).</summary>
    internal bool KeepsJson => _responseJson is not null;

    private Task Answered => (Task?)_responseJson?.Task ?? _response.Task;

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

    /// <summary>Waits for the response's JSON (a call that keeps it); if <paramref name="cancellationToken"/> fires
    /// first, the peer is told to cancel.</summary>
    internal async Task<byte[]> GetResponseJsonAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _responseJson!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
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
        if (Interlocked.Exchange(ref _canceled, 1) != 0 || Answered.IsCompleted)
        {
            return;
        }

        _connection.PostCancel(Id);
        if (_responseJson is { } json)
        {
            json.TrySetCanceled();
        }
        else
        {
            _response.TrySetCanceled();
        }

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

    internal void OnResponseJson(byte[] json)
    {
        if (_responseJson!.TrySetResult(json))
        {
            Streams.FailOutbound(new ChannelDataAbortedException($"The peer finished call {Id}."));
        }
    }

    internal void OnConnectionClosed(ChannelClosedException error)
    {
        if (_responseJson is { } json)
        {
            json.TrySetException(error);
        }
        else
        {
            _response.TrySetException(error);
        }

        Streams.Fail(new ChannelDataAbortedException(error.Message, error));
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        if (!Answered.IsCompleted)
        {
            Cancel();
        }

        _connection.Unregister(this);
        Streams.Fail(new ChannelDataAbortedException($"Call {Id} was disposed."));
        return ValueTask.CompletedTask;
    }
}
