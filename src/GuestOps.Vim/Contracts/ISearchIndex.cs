namespace GuestOps.Vim.Contracts;

[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface ISearchIndex
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<ManagedObjectReference?> FindByUuidAsync(ManagedObjectReference _this, ManagedObjectReference? datacenter, string uuid, bool vmSearch, bool? instanceUuid);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<ManagedObjectReference?> FindByInventoryPathAsync(ManagedObjectReference _this, string inventoryPath);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<ManagedObjectReference?> FindByDnsNameAsync(ManagedObjectReference _this, ManagedObjectReference? datacenter, string dnsName, bool vmSearch);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<ManagedObjectReference?> FindByIpAsync(ManagedObjectReference _this, ManagedObjectReference? datacenter, string ip, bool vmSearch);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<ManagedObjectReference?> FindChildAsync(ManagedObjectReference _this, ManagedObjectReference entity, string name);
}
