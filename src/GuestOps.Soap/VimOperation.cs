using System.Reflection;
using System.ServiceModel;
using System.Xml.Serialization;
using GuestOps.Vim;

namespace GuestOps.Soap;

/// <summary>One vim25 operation as its service contract declares it: wire name, parameters in WSDL order,
/// result, declared faults and required privilege. Built once at start-up.</summary>
public sealed class VimOperation
{
    internal VimOperation(MethodInfo contractMethod)
    {
        ContractMethod = contractMethod;
        var contract = contractMethod.GetCustomAttribute<OperationContractAttribute>()
            ?? throw new ArgumentException($"{contractMethod.Name} is not an operation contract.");
        Name = contract.Name ?? StripAsync(contractMethod.Name);
        var parameters = contractMethod.GetParameters();
        Parameters = parameters;
        if (parameters.Length == 0 || parameters[0].Name != "_this")
        {
            throw new ArgumentException($"{Name}: the first parameter must be _this.");
        }

        var returnType = contractMethod.ReturnType;
        ResultType = returnType == typeof(Task) ? null
            : returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>) ? returnType.GetGenericArguments()[0]
            : throw new ArgumentException($"{Name}: contract methods return Task or Task<T>.");

        var privilege = contractMethod.GetCustomAttribute<VimPrivilegeAttribute>()
            ?? throw new ArgumentException($"{Name}: every operation declares its privilege.");
        Privilege = privilege.PrivilegeId;
        PrivilegeParameterIndex = Array.FindIndex(parameters, p => p.Name == privilege.On);
        if (PrivilegeParameterIndex < 0)
        {
            throw new ArgumentException($"{Name}: privilege parameter '{privilege.On}' does not exist.");
        }

        DeclaredFaults = contractMethod.GetCustomAttributes<FaultContractAttribute>()
            .Select(f => new DeclaredFault(f.DetailType, f.Name ?? f.DetailType.Name + "Fault"))
            .ToArray();

        var nullability = new NullabilityInfoContext();
        RequiredParameters = parameters
            .Select(p => p.ParameterType.IsValueType
                ? Nullable.GetUnderlyingType(p.ParameterType) is null
                : nullability.Create(p).ReadState == NullabilityState.NotNull)
            .ToArray();
    }

    /// <summary>The operation's name on the wire (the request element's local name).</summary>
    public string Name { get; }

    public MethodInfo ContractMethod { get; }

    /// <summary>Parameters in wire order, <c>_this</c> first.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>For each parameter, whether the WSDL requires it (a non-nullable reference or value type in the
    /// contract; a required array must have at least one element).</summary>
    internal bool[] RequiredParameters { get; }

    /// <summary>The type of <c>returnval</c>; null for void operations.</summary>
    public Type? ResultType { get; }

    public string Privilege { get; }

    /// <summary>Index of the parameter whose object the privilege is checked on.</summary>
    public int PrivilegeParameterIndex { get; }

    public IReadOnlyList<DeclaredFault> DeclaredFaults { get; }

    /// <summary>Reads this operation's request; knows only the types its parameters can hold (small and fast).</summary>
    internal XmlSerializer RequestSerializer { get; set; } = null!;

    /// <summary>Reads this operation's request knowing every vim type: the fallback for an unusual xsi:type.</summary>
    internal XmlSerializer? FullRequestSerializer { get; set; }

    internal XmlSerializer ResponseSerializer { get; set; } = null!;

    /// <summary>The detail element name for a fault: the nearest fault the operation declares, else
    /// <c>RuntimeFaultFault</c> for runtime faults, else the fault's own name: the element names the WSDL declares,
    /// which WSDL-generated clients (JAX-WS, WCF) match a fault's detail against.</summary>
    public string DetailElementName(Type faultType)
    {
        for (var t = faultType; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var declared in DeclaredFaults)
            {
                if (declared.Type == t)
                {
                    return declared.ElementName;
                }
            }
        }

        return typeof(RuntimeFault).IsAssignableFrom(faultType) ? "RuntimeFaultFault" : faultType.Name + "Fault";
    }

    /// <summary>The request's members. A value-type parameter is read as its nullable type, so that a missing required
    /// value (e.g. <c>fileSize</c>) is told apart from 0 or false and refused instead of silently taken as the default.</summary>
    internal XmlReflectionMember[] RequestMembers() => Parameters.Select(p => new XmlReflectionMember
    {
        MemberName = p.Name!,
        MemberType = p.ParameterType.IsValueType && Nullable.GetUnderlyingType(p.ParameterType) is null
            ? typeof(Nullable<>).MakeGenericType(p.ParameterType)
            : p.ParameterType,
        XmlAttributes = new XmlAttributes(p),
    }).ToArray();

    internal XmlReflectionMember[] ResponseMembers() => ResultType is null ? [] :
    [
        new XmlReflectionMember
        {
            MemberName = "returnval",
            MemberType = ResultType,
            XmlAttributes = new XmlAttributes(ContractMethod.ReturnParameter),
        },
    ];

    private static string StripAsync(string name) =>
        name.EndsWith("Async", StringComparison.Ordinal) ? name[..^5] : name;
}

/// <summary>A fault an operation declares in the WSDL, with its detail element name.</summary>
public sealed record DeclaredFault(Type Type, string ElementName);
