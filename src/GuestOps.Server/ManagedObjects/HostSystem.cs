using System.Security.Cryptography;
using System.Text;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.HostSystem: one host agent of a cluster, named by its <c>GUESTOPS_HOST_NAME</c>, in its compute resource;
/// <c>vm</c> lists the VMs it runs.</summary>
public sealed class HostSystem : ManagedEntity
{
    private static readonly PropertyTable<HostSystem> Table = new PropertyTable<HostSystem>(EntityProperties)
        .Add("vm", (h, call) => h._vms().Where(vm => h.Reader.IsVisible(call, vm)).Select(vm => vm.Ref).ToArray())
        .Add("datastore", _ => Array.Empty<ManagedObjectReference>())
        .Add("network", _ => Array.Empty<ManagedObjectReference>());

    private readonly Func<IEnumerable<VirtualMachine>> _vms;

    public HostSystem(string name, ComputeResource parent, Func<IEnumerable<VirtualMachine>> vms, PropertyReader reader)
        : base(IdOf("host-", name), reader)
    {
        Name = name;
        Parent = parent;
        _vms = vms;
    }

    public override PropertyTable Properties => Table;

    public override string Name { get; }

    public override ManagedEntity? Parent { get; }

    /// <summary>A stable managed object id for the host of <paramref name="name"/>: <paramref name="prefix"/> and the first
    /// 64 bits of the SHA-256 of the name in hex.</summary>
    public static string IdOf(string prefix, string name) =>
        prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 8));
}
