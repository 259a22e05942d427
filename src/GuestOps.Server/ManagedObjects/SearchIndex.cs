using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.SearchIndex: find VMs by UUID, inventory path, DNS name, IP, or a child by name.</summary>
public sealed class SearchIndex(string id, Inventory inventory, PropertyReader reader) : ManagedObject(id, reader), ISearchIndex
{
    private static readonly PropertyTable<SearchIndex> Table = new();

    public override PropertyTable Properties => Table;

    public Task<ManagedObjectReference?> FindByUuidAsync(ManagedObjectReference _this, ManagedObjectReference? datacenter, string uuid, bool vmSearch, bool? instanceUuid) =>
        Found(Call, vmSearch ? VirtualMachines(Call, datacenter).FirstOrDefault(vm =>
            string.Equals(instanceUuid == true ? vm.Snapshot.Configuration.InstanceUuid : vm.Snapshot.Configuration.Uuid, uuid, StringComparison.OrdinalIgnoreCase)) : null);

    public Task<ManagedObjectReference?> FindByDnsNameAsync(ManagedObjectReference _this, ManagedObjectReference? datacenter, string dnsName, bool vmSearch) =>
        Found(Call, vmSearch ? VirtualMachines(Call, datacenter).FirstOrDefault(vm =>
            string.Equals(vm.Snapshot.Agent.HostName, dnsName, StringComparison.OrdinalIgnoreCase)) : null);

    public Task<ManagedObjectReference?> FindByIpAsync(ManagedObjectReference _this, ManagedObjectReference? datacenter, string ip, bool vmSearch) =>
        Found(Call, vmSearch ? VirtualMachines(Call, datacenter).FirstOrDefault(vm => vm.Snapshot.Agent.IpAddress == ip) : null);

    public Task<ManagedObjectReference?> FindByInventoryPathAsync(ManagedObjectReference _this, string inventoryPath)
    {
        var call = Call;
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

    public Task<ManagedObjectReference?> FindChildAsync(ManagedObjectReference _this, ManagedObjectReference entity, string name)
    {
        var call = Call;
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
