using System.Reflection;
using System.ServiceModel;
using System.Xml.Serialization;
using GuestOps.Vim;

namespace GuestOps.Soap;

/// <summary>
/// Every operation of the given service contracts, with their XmlSerializers built once, in one batch
/// (request and response wrappers as WCF's XmlSerializer format does, plus one serializer per fault detail name).
/// </summary>
public sealed class VimOperationCatalog
{
    private readonly Dictionary<string, VimOperation> _operations;
    private readonly Dictionary<string, XmlSerializer> _faultSerializers;

    public VimOperationCatalog(IEnumerable<Type> contracts)
    {
        _operations = new Dictionary<string, VimOperation>(StringComparer.Ordinal);
        foreach (var contract in contracts)
        {
            if (contract.GetCustomAttribute<ServiceContractAttribute>() is null)
            {
                throw new ArgumentException($"{contract} is not a service contract.");
            }

            foreach (var method in contract.GetMethods().Where(m => m.IsDefined(typeof(OperationContractAttribute))))
            {
                var operation = new VimOperation(method);
                if (!_operations.TryAdd(operation.Name, operation))
                {
                    throw new ArgumentException($"Operation {operation.Name} is declared twice.");
                }
            }
        }

        var importer = new XmlReflectionImporter(VimNamespaces.Vim25);
        foreach (var type in VimTypes.All)
        {
            importer.IncludeType(type);
        }

        var mappings = new List<XmlMapping>();
        foreach (var operation in _operations.Values)
        {
            mappings.Add(Keyed(importer.ImportMembersMapping(operation.Name, VimNamespaces.Vim25, operation.RequestMembers(), hasWrapperElement: true), "req:" + operation.Name));
            mappings.Add(Keyed(importer.ImportMembersMapping(operation.Name + "Response", VimNamespaces.Vim25, operation.ResponseMembers(), hasWrapperElement: true), "res:" + operation.Name));
        }

        var faultElementNames = _operations.Values.SelectMany(o => o.DeclaredFaults.Select(f => f.ElementName))
            .Concat(VimTypes.All.Where(t => typeof(MethodFault).IsAssignableFrom(t)).Select(t => t.Name + "Fault"))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        foreach (var name in faultElementNames)
        {
            var member = new XmlReflectionMember
            {
                MemberName = name,
                MemberType = typeof(object), // declared as anyType so xsi:type always names the concrete fault
                XmlAttributes = new XmlAttributes { XmlElements = { new XmlElementAttribute(name) { Namespace = VimNamespaces.Vim25 } } },
            };
            mappings.Add(Keyed(importer.ImportMembersMapping(name, VimNamespaces.Vim25, [member], hasWrapperElement: false), "fault:" + name));
        }

        var serializers = FromMappings(mappings);
        var index = 0;
        foreach (var operation in _operations.Values)
        {
            operation.FullRequestSerializer = serializers[index++];
            operation.ResponseSerializer = serializers[index++];
        }

        // One small serializer per request: a serializer generated for a batch registers every name of the batch in
        // each reader it creates, which made reading a two-element request cost as much as reading hundreds.
        foreach (var operation in _operations.Values)
        {
            var scoped = new XmlReflectionImporter(VimNamespaces.Vim25);
            foreach (var type in ReachableTypes(operation.Parameters.Select(p => p.ParameterType)))
            {
                scoped.IncludeType(type);
            }

            operation.RequestSerializer = FromMappings([scoped.ImportMembersMapping(operation.Name, VimNamespaces.Vim25, operation.RequestMembers(), hasWrapperElement: true)])[0];
        }

        _faultSerializers = new Dictionary<string, XmlSerializer>(StringComparer.Ordinal);
        foreach (var name in faultElementNames)
        {
            _faultSerializers[name] = serializers[index++];
        }
    }

    public IReadOnlyCollection<VimOperation> Operations => _operations.Values;

    public bool TryGet(string name, out VimOperation operation) => _operations.TryGetValue(name, out operation!);

    internal XmlSerializer FaultSerializer(string detailElementName) => _faultSerializers[detailElementName];

    private static XmlSerializer[] FromMappings(IReadOnlyList<XmlMapping> mappings) =>
        XmlSerializer.FromMappings(mappings.ToArray()).Select(s => s ?? throw new InvalidOperationException("No serializer was generated.")).ToArray();

    /// <summary>The vim types a parameter can hold: its type, the types of its members, and their subtypes (for
    /// xsi:type), transitively. <c>object</c>-typed members (DynamicProperty.val) do not widen the set.</summary>
    private static HashSet<Type> ReachableTypes(IEnumerable<Type> roots)
    {
        var vimTypes = VimTypes.All.ToHashSet();
        var reachable = new HashSet<Type>();
        var queue = new Queue<Type>(roots);
        while (queue.TryDequeue(out var type))
        {
            type = type.IsArray ? type.GetElementType()! : Nullable.GetUnderlyingType(type) ?? type;
            if (!vimTypes.Contains(type) || !reachable.Add(type))
            {
                continue;
            }

            foreach (var property in type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
            {
                queue.Enqueue(property.PropertyType);
            }

            foreach (var derived in vimTypes.Where(t => t.IsSubclassOf(type)))
            {
                queue.Enqueue(derived);
            }
        }

        return reachable;
    }

    private static XmlMapping Keyed(XmlMapping mapping, string key)
    {
        mapping.SetKey(key); // members mappings of the same shape would otherwise collide
        return mapping;
    }
}
