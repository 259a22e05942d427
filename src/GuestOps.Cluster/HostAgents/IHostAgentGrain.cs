namespace GuestOps.Cluster.HostAgents;

/// <summary>
/// One host agent of the cluster, keyed by its host name (<c>GUESTOPS_HOST_NAME</c>) and placed on that host agent's
/// silo (<see cref="HostAgentPlacementAttribute"/>): the front ends' way to its VMs.
/// </summary>
[Alias("GuestOps.Cluster.HostAgents.IHostAgentGrain")]
public interface IHostAgentGrain : IGrainWithStringKey
{
    /// <summary>The host agent's VMs and transfer URLs; the VMs only when their version is not
    /// <paramref name="knownVersion"/> (a front end's cached copy is current).</summary>
    [Alias("GetInventory")]
    Task<HostAgentInventory> GetInventoryAsync(long knownVersion);

    /// <summary>Runs one guest operation in one of the host agent's VMs: the request and the response as the channel's
    /// JSON (<see cref="GuestOps.Channel.Messages.ChannelMessageJson"/>), which the host agent passes between the front
    /// end and the VM's worker without reading; <paramref name="operation"/> is the request's operation (its JSON type
    /// tag), which the host agent checks the worker supports.</summary>
    [Alias("InvokeGuest")]
    Task<GuestCallOutcome> InvokeGuestAsync(string vmId, string operation, byte[] request, CancellationToken cancellationToken);
}

/// <summary>A host agent's inventory at one moment: <paramref name="Version"/> changes whenever a VM's snapshot does;
/// <paramref name="Vms"/> is the JSON of every VM's snapshot (<see cref="HostAgentJson"/>), null when the asker has this
/// version already; <paramref name="GuestFileServers"/> are the base URLs (<c>scheme://host:port</c>, host <c>*</c> for
/// a wildcard listener) whose <c>/guestFile</c> the host agent serves.</summary>
[GenerateSerializer, Immutable, Alias("GuestOps.HostAgentInventory")]
public sealed record HostAgentInventory(
    [property: Id(0)] long Version,
    [property: Id(1)] byte[]? Vms,
    [property: Id(2)] string[] GuestFileServers);

/// <summary>How a guest call went: the worker's response JSON, or the host agent's failure
/// (<see cref="GuestOps.Host.Dispatch.GuestAgentFailure"/> as its number) and its message.</summary>
[GenerateSerializer, Immutable, Alias("GuestOps.GuestCallOutcome")]
public sealed record GuestCallOutcome(
    [property: Id(0)] byte[]? Response,
    [property: Id(1)] int? Failure,
    [property: Id(2)] string? Message);
