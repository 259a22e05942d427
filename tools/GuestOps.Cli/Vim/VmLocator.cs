using System.Text.RegularExpressions;
using GuestOps.Client;
using GuestOps.Vim;

namespace GuestOps.Cli.Vim;

/// <summary>
/// Finds a VM the way the user names it: a UUID (BIOS <c>config.uuid</c>, then <c>config.instanceUuid</c>, through
/// SearchIndex.FindByUuid), an inventory path (anything with a <c>/</c>, through FindByInventoryPath, e.g.
/// <c>ha-datacenter/vm/demo-vm-1</c>), or else its name (a ContainerView over the whole inventory).
/// </summary>
public static partial class VmLocator
{
    [GeneratedRegex("^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")]
    private static partial Regex UuidPattern();

    public static async Task<ManagedObjectReference> FindAsync(VimConnection connection, string vm, CancellationToken cancellationToken)
    {
        if (UuidPattern().IsMatch(vm))
        {
            return await connection.FindVirtualMachineByUuidAsync(vm, instanceUuid: false, cancellationToken)
                ?? await connection.FindVirtualMachineByUuidAsync(vm, instanceUuid: true, cancellationToken)
                ?? throw new CliException($"No VM has the UUID {vm}.");
        }

        if (vm.Contains('/', StringComparison.Ordinal))
        {
            var found = await connection.FindByInventoryPathAsync(vm.Trim('/'), cancellationToken)
                ?? throw new CliException($"Nothing at inventory path {vm}.");
            return found.type == "VirtualMachine" ? found : throw new CliException($"{vm} is a {found.type}, not a VirtualMachine.");
        }

        var matches = (await connection.RetrieveAllAsync("VirtualMachine", ["name"], cancellationToken))
            .Where(v => PropertyText.Of(v, "name") == vm)
            .Select(v => v.obj)
            .ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new CliException($"No VM is named '{vm}' (see `guestops vms`)."),
            _ => throw new CliException($"{matches.Count} VMs are named '{vm}'; name it by inventory path or UUID."),
        };
    }
}
