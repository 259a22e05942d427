using System.Reflection;

namespace GuestOps.Vim;

/// <summary>Every type that may appear on the wire, for serializers that must know subtypes in advance.</summary>
public static class VimTypes
{
    private static readonly Type[] AllTypes = typeof(VimTypes).Assembly.GetExportedTypes()
        .Where(t => t.Namespace == typeof(VimTypes).Namespace
            && !t.IsInterface && !t.IsGenericTypeDefinition
            && (t.IsEnum || typeof(DynamicData).IsAssignableFrom(t) || t.Name.StartsWith("ArrayOf", StringComparison.Ordinal)
                || t == typeof(ManagedObjectReference) || t == typeof(DynamicProperty)))
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();

    /// <summary>Data objects, faults, enums and anyType array wrappers.</summary>
    public static IReadOnlyList<Type> All => AllTypes;

    /// <summary>For <c>[ServiceKnownType(nameof(GetKnownTypes), typeof(VimTypes))]</c> on WCF contracts.</summary>
    public static IEnumerable<Type> GetKnownTypes(ICustomAttributeProvider provider) => AllTypes;
}
