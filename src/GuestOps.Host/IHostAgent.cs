using GuestOps.Channel.Messages;

namespace GuestOps.Host;

/// <summary>
/// The narrow, message-shaped boundary between the SOAP front end and the host agent (hostd-like).
/// Everything crossing it is an immutable record (VM snapshots, channel requests and responses), so the agent can
/// later live in another process or on another machine.
/// </summary>
public interface IHostAgent
{
    /// <summary>Every VM this agent runs, in a stable order.</summary>
    IReadOnlyList<VmSnapshot> ListVirtualMachines();

    VmSnapshot? GetVirtualMachine(string id);

    /// <summary>Runs one guest operation in the VM. Throws <see cref="Dispatch.GuestAgentException"/> when no worker
    /// can answer; a guest-side failure comes back as the response's error.</summary>
    Task<ChannelResponse> InvokeGuestAsync(string vmId, ChannelRequest request, CancellationToken cancellationToken);

    /// <summary>Starts a guest call that carries data (a file transfer); the same checks as
    /// <see cref="InvokeGuestAsync"/>. The caller streams through the returned call and disposes it.</summary>
    Task<Dispatch.GuestDataCall> StartGuestDataCallAsync(string vmId, ChannelRequest request, CancellationToken cancellationToken);
}
