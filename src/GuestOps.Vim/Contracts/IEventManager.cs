namespace GuestOps.Vim.Contracts;

/// <summary>vim.event.EventManager: the events this server keeps (the guest-operation audit trail).</summary>
[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IEventManager
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<Event[]> QueryEventsAsync(ManagedObjectReference _this, EventFilterSpec filter);
}
