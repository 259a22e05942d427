using System.Xml;
using System.Xml.Serialization;
using GuestOps.Host.Events;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>The host agent's <see cref="EventRecord"/>s as vim25 events (<see cref="EventEx"/>) and back. A fault
/// travels whole, as XML, so QueryEvents answers with the very fault the call raised.</summary>
public static class VimEvents
{
    private static readonly Lazy<XmlSerializer> FaultSerializer = new(() =>
        new XmlSerializer(typeof(LocalizedMethodFault), null, VimTypes.All.ToArray(), new XmlRootAttribute("fault") { Namespace = VimNamespaces.Vim25 }, VimNamespaces.Vim25));

    private static readonly XmlWriterSettings WriterSettings = new() { OmitXmlDeclaration = true };

    public static EventFault Fault(MethodFault fault, string localizedMessage)
    {
        using var text = new StringWriter();
        using (var writer = XmlWriter.Create(text, WriterSettings))
        {
            FaultSerializer.Value.Serialize(writer, new LocalizedMethodFault { fault = fault, localizedMessage = localizedMessage });
        }

        return new EventFault(fault.GetType().Name, localizedMessage, text.ToString());
    }

    public static LocalizedMethodFault Fault(EventFault fault)
    {
        using var reader = XmlReader.Create(new StringReader(fault.Detail), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit });
        return (LocalizedMethodFault)FaultSerializer.Value.Deserialize(reader)!;
    }

    public static EventEx ToVim(EventRecord e) => new()
    {
        key = e.Key,
        chainId = e.Key,
        createdTime = e.CreatedTime,
        userName = e.UserName,
        datacenter = e.Datacenter is { } dc ? new DatacenterEventArgument { name = dc.Name, datacenter = new ManagedObjectReference(dc.Type, dc.Id) } : null,
        vm = e.Vm is { } vm ? new VmEventArgument { name = vm.Name, vm = new ManagedObjectReference(vm.Type, vm.Id) } : null,
        fullFormattedMessage = e.Message,
        eventTypeId = e.TypeId,
        severity = e.Severity,
        message = e.Message,
        arguments = e.Arguments.Select(a => new KeyAnyValue { key = a.Key, value = a.Value }).ToArray(),
        objectId = e.Vm?.Id,
        objectType = e.Vm?.Type,
        objectName = e.Vm?.Name ?? "",
        fault = e.Fault is { } fault ? Fault(fault) : null,
    };
}
