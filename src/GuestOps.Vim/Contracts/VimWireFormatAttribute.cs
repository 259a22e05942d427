using System.Reflection;
using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.ServiceModel.Dispatcher;
using System.Xml;

namespace GuestOps.Vim.Contracts;

/// <summary>
/// Makes a WCF client (ChannelFactory) of a vim25 contract write requests and read responses as vim25 does. WCF's
/// XmlSerializerFormat reads XML attributes only from message-contract members, not from operation parameters or
/// return values, so it would wrap an array parameter (<c>&lt;pids&gt;&lt;long&gt;1&lt;/long&gt;&lt;/pids&gt;</c>) and read
/// a list result as one wrapper, where vim25 repeats the element (<c>&lt;pids&gt;1&lt;/pids&gt;&lt;pids&gt;2&lt;/pids&gt;</c>,
/// one <c>returnval</c> per item). This behavior gives every operation a formatter whose XmlSerializer is built from
/// the contract method's parameters with their attributes, as the server reads them. Faults stay WCF's.
/// </summary>
[AttributeUsage(AttributeTargets.Interface)]
public sealed class VimWireFormatAttribute : Attribute, IContractBehavior
{
    public void AddBindingParameters(ContractDescription contractDescription, ServiceEndpoint endpoint, BindingParameterCollection bindingParameters)
    {
    }

    public void ApplyClientBehavior(ContractDescription contractDescription, ServiceEndpoint endpoint, ClientRuntime clientRuntime)
    {
        var operations = contractDescription.Operations
            .Select(o => (Method: o.TaskMethod ?? o.SyncMethod, Client: clientRuntime.ClientOperations.FirstOrDefault(c => c.Name == o.Name)))
            .Where(o => o.Method is not null && o.Client is not null)
            .ToArray();
        var serializers = new VimContractSerializers(operations.Select(o => o.Method!).ToArray());
        for (var index = 0; index < operations.Length; index++)
        {
            var client = operations[index].Client!;
            // XmlSerializerOperationBehavior sets a formatter only where none is set, so this one stays.
            client.Formatter = new VimClientMessageFormatter(serializers, index, client.Action);
            client.SerializeRequest = true;
            client.DeserializeReply = true;
        }
    }

    public void ApplyDispatchBehavior(ContractDescription contractDescription, ServiceEndpoint endpoint, DispatchRuntime dispatchRuntime)
    {
    }

    public void Validate(ContractDescription contractDescription, ServiceEndpoint endpoint)
    {
    }
}

/// <summary>One operation's request and response as vim25 writes them: the operation element wrapping its parameters in
/// <c>urn:vim25</c>, arrays as repeated elements, polymorphic values with xsi:type (every vim type is known).</summary>
internal sealed class VimClientMessageFormatter(VimContractSerializers serializers, int index, string action) : IClientMessageFormatter
{
    public Message SerializeRequest(MessageVersion messageVersion, object[] parameters) =>
        Message.CreateMessage(messageVersion, action, new Body(serializers.Request(index), parameters));

    public object? DeserializeReply(Message message, object[] parameters)
    {
        using var reader = message.GetReaderAtBodyContents();
        var values = (object?[])serializers.Response(index).Deserialize(reader)!;
        return serializers.HasResult(index) ? values[0] : null;
    }

    private sealed class Body(XmlSerializer serializer, object[] parameters) : BodyWriter(isBuffered: true)
    {
        protected override void OnWriteBodyContents(XmlDictionaryWriter writer) => serializer.Serialize(writer, parameters);
    }
}

/// <summary>
/// The request and response serializers of every operation of one contract, generated together on the first call:
/// XmlSerializer generates code for every vim type a mapping includes, once per generation, so one generation for the
/// whole contract costs about what one operation's would, where one per operation repeats it at each first call.
/// </summary>
internal sealed class VimContractSerializers(MethodInfo[] methods)
{
    private readonly Lazy<XmlSerializer[]> _serializers = new(() => Build(methods));

    public XmlSerializer Request(int index) => _serializers.Value[2 * index];

    public XmlSerializer Response(int index) => _serializers.Value[(2 * index) + 1];

    public bool HasResult(int index) => Result(methods[index]) is not null;

    private static XmlSerializer[] Build(MethodInfo[] methods)
    {
        var importer = new XmlReflectionImporter(VimNamespaces.Vim25);
        foreach (var type in VimTypes.All)
        {
            importer.IncludeType(type);
        }

        var mappings = new List<XmlMapping>();
        foreach (var method in methods)
        {
            var name = method.GetCustomAttribute<OperationContractAttribute>()?.Name
                ?? (method.Name.EndsWith("Async", StringComparison.Ordinal) ? method.Name[..^5] : method.Name);
            var request = method.GetParameters().Select(p => new XmlReflectionMember
            {
                MemberName = p.Name!,
                MemberType = p.ParameterType,
                XmlAttributes = new XmlAttributes(p),
            }).ToArray();
            XmlReflectionMember[] response = Result(method) is { } result
                ? [new XmlReflectionMember { MemberName = "returnval", MemberType = result, XmlAttributes = new XmlAttributes(method.ReturnParameter) }]
                : [];
            mappings.Add(Keyed(importer.ImportMembersMapping(name, VimNamespaces.Vim25, request, hasWrapperElement: true), "req:" + name));
            mappings.Add(Keyed(importer.ImportMembersMapping(name + "Response", VimNamespaces.Vim25, response, hasWrapperElement: true), "res:" + name));
        }

        return XmlSerializer.FromMappings(mappings.ToArray()).Select(s => s!).ToArray();
    }

    private static Type? Result(MethodInfo method)
    {
        var returnType = method.ReturnType;
        return returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>) ? returnType.GetGenericArguments()[0]
            : returnType == typeof(Task) || returnType == typeof(void) ? null
            : returnType;
    }

    private static XmlMapping Keyed(XmlMapping mapping, string key)
    {
        mapping.SetKey(key); // members mappings of the same shape would otherwise share one generated serializer
        return mapping;
    }
}
