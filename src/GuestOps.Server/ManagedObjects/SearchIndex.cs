using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.SearchIndex: find VMs by UUID, inventory path, DNS name, IP, or a child by name.</summary>
public sealed class SearchIndex(string id, Inventory inventory, PropertyReader reader) : ManagedObject(id, reader)
{
    private static readonly PropertyTable<SearchIndex> Table = new();

    public override PropertyTable Properties => Table;

    public Task<ManagedObjectReference?> FindByUuid(VimCall call, ManagedObjectReference? datacenter, string uuid, bool vmSearch, bool? instanceUuid) =>
        Found(call, vmSearch ? VirtualMachines(call, datacenter).FirstOrDefault(vm =>
            string.Equals(instanceUuid == true ? vm.Snapshot.Configuration.InstanceUuid : vm.Snapshot.Configuration.Uuid, uuid, StringComparison.OrdinalIgnoreCase)) : null);

    public Task<ManagedObjectReference?> FindByDnsName(VimCall call, ManagedObjectReference? datacenter, string dnsName, bool vmSearch) =>
        Found(call, vmSearch ? VirtualMachines(call, datacenter).FirstOrDefault(vm =>
            string.Equals(vm.Snapshot.Agent.HostName, dnsName, StringComparison.OrdinalIgnoreCase)) : null);

    public Task<ManagedObjectReference?> FindByIp(VimCall call, ManagedObjectReference? datacenter, string ip, bool vmSearch) =>
        Found(call, vmSearch ? VirtualMachines(call, datacenter).FirstOrDefault(vm => vm.Snapshot.Agent.IpAddress == ip) : null);

    public Task<ManagedObjectReference?> FindByInventoryPath(VimCall call, string inventoryPath)
    {
        ManagedEntity current = inventory.RootFolder;
        foreach (var segment in inventoryPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = Uri.UnescapeDataString(segment); // names escape "/" as %2f and "%" as %25
            var child = current.Children.FirstOrDefault(c => c.Name == name);
            if (child is null)
            {
                return Found(call, null);
            }

            current = child;
        }

        return Found(call, current);
    }

    public Task<ManagedObjectReference?> FindChild(VimCall call, ManagedObjectReference entity, string name)
    {
        if (inventory.Resolve(entity, call) is not ManagedEntity parent)
        {
            throw new VimFaultException(new ManagedObjectNotFound { obj = entity }, $"The object '{entity}' has already been deleted or has not been completely created");
        }

        return Found(call, parent.Children.FirstOrDefault(c => c.Name == name));
    }

    private IEnumerable<VirtualMachine> VirtualMachines(VimCall call, ManagedObjectReference? datacenter)
    {
        if (datacenter is not null && inventory.Resolve(datacenter, call) is not Datacenter)
        {
            throw new VimFaultException(new ManagedObjectNotFound { obj = datacenter }, $"The object '{datacenter}' has already been deleted or has not been completely created");
        }

        return inventory.VirtualMachines;
    }

    /// <summary>The entity's reference, or none when the caller may not see it.</summary>
    private Task<ManagedObjectReference?> Found(VimCall call, ManagedEntity? entity) =>
        Task.FromResult(entity is not null && Reader.IsVisible(call, entity) ? entity.Ref : null);
}
