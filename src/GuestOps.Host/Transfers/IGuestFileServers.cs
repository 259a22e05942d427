namespace GuestOps.Host.Transfers;

/// <summary>Where a VM's file transfers are served when another process runs the VM: a cluster's front end hands out
/// URLs naming the host agent that runs it, as vCenter hands out its ESXi host's address.</summary>
public interface IGuestFileServers
{
    /// <summary>The base URL (<c>scheme://host:port</c>; host <c>*</c> when that host agent listens on every address,
    /// for the client to put in the host it called) whose <c>/guestFile</c> serves VM <paramref name="vmId"/>'s
    /// transfers; null when this process serves them. Prefers the scheme of <paramref name="https"/>. Throws
    /// <see cref="Dispatch.GuestAgentException"/> when that host agent cannot be reached.</summary>
    string? GuestFileServer(string vmId, bool https);
}
