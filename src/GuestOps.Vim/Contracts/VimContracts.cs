namespace GuestOps.Vim.Contracts;

/// <summary>All vim25 service contracts of this assembly (one per managed object type).</summary>
public static class VimContracts
{
    public static IReadOnlyList<Type> All { get; } = typeof(VimContracts).Assembly.GetExportedTypes()
        .Where(t => t.IsInterface && t.IsDefined(typeof(ServiceContractAttribute), inherit: false))
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();
}
