using GuestOps.Host;

namespace GuestOps.Cluster.HostAgents;

/// <summary>
/// One host agent of the cluster, keyed by its host name (<c>GUESTOPS_HOST_NAME</c>) and placed on that host agent's
/// silo (<see cref="HostAgentPlacementAttribute"/>): the front ends' way to its VMs.
/// </summary>
[Alias("GuestOps.Cluster.HostAgents.IHostAgentGrain")]
public interface IHostAgentGrain : IGrainWithStringKey
{
    /// <summary>The host agent's VMs changed since <paramref name="version"/> of <paramref name="epoch"/> (a front end's
    /// copy), and its transfer URLs: every VM when the front end holds nothing (0) or a version of another epoch (the host
    /// agent restarted since).</summary>
    [Alias("GetChanges")]
    Task<HostAgentChanges> GetChangesAsync(long epoch, long version);

    /// <summary>Runs one guest operation in one of the host agent's VMs: the request and the response as the channel's
    /// JSON (<see cref="GuestOps.Channel.Messages.ChannelMessageJson"/>), which the host agent passes between the front
    /// end and the VM's worker without reading; <paramref name="operation"/> is the request's operation (its JSON type
    /// tag), which the host agent checks the worker supports.</summary>
    [Alias("InvokeGuest")]
    Task<GuestCallOutcome> InvokeGuestAsync(string vmId, string operation, byte[] request, CancellationToken cancellationToken);
}

/// <summary>What changed in a host agent's VMs since the version a front end holds
/// (<see cref="GuestOps.Host.InventoryDelta"/>): <paramref name="Full"/>: <paramref name="Changed"/> is every
/// VM; else the VMs added or changed, and <paramref name="Removed"/> the ids of those removed, since that version.
/// <paramref name="GuestFileServers"/> are the base URLs (<c>scheme://host:port</c>, host <c>*</c> for a wildcard
/// listener) whose <c>/guestFile</c> the host agent serves.</summary>
[GenerateSerializer, Immutable, Alias("GuestOps.HostAgentChanges")]
public sealed record HostAgentChanges(
    [property: Id(0)] long Epoch,
    [property: Id(1)] long Version,
    [property: Id(2)] bool Full,
    [property: Id(3)] VmSnapshot[] Changed,
    [property: Id(4)] string[] Removed,
    [property: Id(5)] string[] GuestFileServers);

/// <summary>How a guest call went: the worker's response JSON, or the host agent's failure
/// (<see cref="GuestOps.Host.Dispatch.GuestAgentFailure"/> as its number) and its message.</summary>
[GenerateSerializer, Immutable, Alias("GuestOps.GuestCallOutcome")]
public sealed record GuestCallOutcome(
    [property: Id(0)] byte[]? Response,
    [property: Id(1)] int? Failure,
    [property: Id(2)] string? Message);
