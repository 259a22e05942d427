namespace GuestOps.Host.Dispatch;

/// <summary>Why a guest call could not reach a worker that would answer it.</summary>
public enum GuestAgentFailure
{
    /// <summary>No worker is connected, or it went away during the call.</summary>
    Unavailable,

    /// <summary>The worker did not answer within the call's deadline.</summary>
    TimedOut,

    /// <summary>The worker speaks an older protocol, or lacks the operation.</summary>
    ComponentsOutOfDate,

    /// <summary><c>guest.commands.enabled = FALSE</c> for this VM or the host.</summary>
    OperationsDisabled,

    /// <summary>The VM is not powered on.</summary>
    PoweredOff,

    /// <summary>The host agent that runs the VM cannot be reached (a cluster's host agent that is gone).</summary>
    HostNotConnected,
}

/// <summary>A guest call failed before the guest could answer; the front end maps it to a vim fault.</summary>
public sealed class GuestAgentException(GuestAgentFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public GuestAgentFailure Failure { get; } = failure;
}
