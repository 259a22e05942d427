using System.Reflection;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.ServiceModel.Dispatcher;
using System.Xml;
using System.Xml.Serialization;

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
        foreach (var operation in contractDescription.Operations)
        {
            var method = operation.TaskMethod ?? operation.SyncMethod;
            var client = clientRuntime.ClientOperations.FirstOrDefault(o => o.Name == operation.Name);
            if (method is null || client is null)
            {
                continue;
            }

            // XmlSerializerOperationBehavior sets a formatter only where none is set, so this one stays.
            client.Formatter = new VimClientMessageFormatter(method, client.Action);
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
internal sealed class VimClientMessageFormatter : IClientMessageFormatter
{
    private readonly string _action;
    private readonly Lazy<(XmlSerializer Request, XmlSerializer Response, bool HasResult)> _serializers;

    public VimClientMessageFormatter(MethodInfo method, string action)
    {
        _action = action;
        _serializers = new Lazy<(XmlSerializer, XmlSerializer, bool)>(() => Build(method));
    }

    public Message SerializeRequest(MessageVersion messageVersion, object[] parameters) =>
        Message.CreateMessage(messageVersion, _action, new Body(_serializers.Value.Request, parameters));

    public object? DeserializeReply(Message message, object[] parameters)
    {
        using var reader = message.GetReaderAtBodyContents();
        var values = (object?[])_serializers.Value.Response.Deserialize(reader)!;
        return _serializers.Value.HasResult ? values[0] : null;
    }

    private static (XmlSerializer, XmlSerializer, bool) Build(MethodInfo method)
    {
        var name = method.GetCustomAttribute<OperationContractAttribute>()?.Name
            ?? (method.Name.EndsWith("Async", StringComparison.Ordinal) ? method.Name[..^5] : method.Name);
        var importer = new XmlReflectionImporter(VimNamespaces.Vim25);
        foreach (var type in VimTypes.All)
        {
            importer.IncludeType(type);
        }

        var request = method.GetParameters().Select(p => new XmlReflectionMember
        {
            MemberName = p.Name!,
            MemberType = p.ParameterType,
            XmlAttributes = new XmlAttributes(p),
        }).ToArray();
        var returnType = method.ReturnType;
        var result = returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>) ? returnType.GetGenericArguments()[0]
            : returnType == typeof(Task) || returnType == typeof(void) ? null
            : returnType;
        XmlReflectionMember[] response = result is null ? [] :
        [
            new XmlReflectionMember { MemberName = "returnval", MemberType = result, XmlAttributes = new XmlAttributes(method.ReturnParameter) },
        ];
        var serializers = XmlSerializer.FromMappings(
        [
            Keyed(importer.ImportMembersMapping(name, VimNamespaces.Vim25, request, hasWrapperElement: true), "req:" + name),
            Keyed(importer.ImportMembersMapping(name + "Response", VimNamespaces.Vim25, response, hasWrapperElement: true), "res:" + name),
        ]);
        return (serializers[0]!, serializers[1]!, result is not null);
    }

    private static XmlMapping Keyed(XmlMapping mapping, string key)
    {
        mapping.SetKey(key); // members mappings of the same shape would otherwise share one generated serializer
        return mapping;
    }

    private sealed class Body(XmlSerializer serializer, object[] parameters) : BodyWriter(isBuffered: true)
    {
        protected override void OnWriteBodyContents(XmlDictionaryWriter writer) => serializer.Serialize(writer, parameters);
    }
}
