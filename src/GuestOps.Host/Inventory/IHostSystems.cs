namespace GuestOps.Host.Inventory;

/// <summary>One host agent of a cluster, as vCenter shows an ESXi host: its name and whether it answers now.</summary>
public sealed record HostSystemInfo(string Name, bool Connected);

/// <summary>The host agents of a cluster and which one runs each VM: the inventory then has a HostSystem (in its
/// compute resource) per host agent, as vCenter has one per ESXi host. Absent for the single process.</summary>
public interface IHostSystems
{
    /// <summary>Every host agent known now (connected or not), in a stable order.</summary>
    IReadOnlyList<HostSystemInfo> HostSystems { get; }

    /// <summary>The host name of the host agent that runs VM <paramref name="vmId"/>; null when none does.</summary>
    string? HostNameOf(string vmId);
}
