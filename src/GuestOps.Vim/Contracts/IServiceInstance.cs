namespace GuestOps.Vim.Contracts;

[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IServiceInstance
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemAnonymous)]
    [return: MessageParameter(Name = "returnval")]
    Task<ServiceContent> RetrieveServiceContentAsync(ManagedObjectReference _this);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<DateTime> CurrentTimeAsync(ManagedObjectReference _this);
}
