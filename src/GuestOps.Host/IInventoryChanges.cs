namespace GuestOps.Host;

/// <summary>A host agent that knows when the VMs it lists change: <see cref="NextChange"/> completes at the first change
/// after it was read. Readers that wait for changes (the PropertyCollector's WaitForUpdatesEx) wake on it instead of
/// re-reading the VMs.</summary>
public interface IInventoryChanges
{
    Task NextChange { get; }
}
