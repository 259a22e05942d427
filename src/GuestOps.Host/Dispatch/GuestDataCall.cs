using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;

namespace GuestOps.Host.Dispatch;

/// <summary>
/// A guest call with data streams (a file transfer): write <see cref="RequestData"/> and complete it, or read
/// <see cref="ResponseData"/> to its end, then await <see cref="GetResponseAsync"/>. Disposing it before the response
/// cancels the call in the guest (an upload then leaves nothing behind) and frees its transfer slot.
/// </summary>
public sealed class GuestDataCall : IAsyncDisposable
{
    private readonly ChannelCall _call;
    private readonly string _vmId;
    private Action? _release;

    internal GuestDataCall(ChannelCall call, string vmId, Action release)
    {
        _call = call;
        _vmId = vmId;
        _release = release;
    }

    /// <summary>Bytes to the guest; backpressure comes from the worker's credit.</summary>
    public ChannelDataWriter RequestData => _call.RequestData;

    /// <summary>Bytes from the guest; ends (0) when the worker finished sending, throws when it aborted.</summary>
    public ChannelDataReader ResponseData => _call.ResponseData;

    /// <summary>Completes (in any state) once the call is over for the worker: it answered, or the channel ended.
    /// A side waiting on something else (e.g. a client's request body) watches this to stop waiting.</summary>
    public Task Finished => _call.Response;

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
}
