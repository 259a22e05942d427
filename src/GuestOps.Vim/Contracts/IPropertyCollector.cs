namespace GuestOps.Vim.Contracts;

[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IPropertyCollector
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidProperty), Name = "InvalidPropertyFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemAnonymous)]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<ObjectContent[]> RetrievePropertiesAsync(ManagedObjectReference _this, [XmlElement("specSet")] PropertyFilterSpec[] specSet);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidProperty), Name = "InvalidPropertyFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemAnonymous)]
    [return: MessageParameter(Name = "returnval")]
    Task<RetrieveResult?> RetrievePropertiesExAsync(ManagedObjectReference _this, [XmlElement("specSet")] PropertyFilterSpec[] specSet, RetrieveOptions options);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidProperty), Name = "InvalidPropertyFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<RetrieveResult> ContinueRetrievePropertiesExAsync(ManagedObjectReference _this, string token);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidProperty), Name = "InvalidPropertyFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    Task CancelRetrievePropertiesExAsync(ManagedObjectReference _this, string token);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidProperty), Name = "InvalidPropertyFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<ManagedObjectReference> CreateFilterAsync(ManagedObjectReference _this, PropertyFilterSpec spec, bool partialUpdates);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidCollectorVersion), Name = "InvalidCollectorVersionFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<UpdateSet?> WaitForUpdatesExAsync(ManagedObjectReference _this, string? version, WaitOptions? options);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidCollectorVersion), Name = "InvalidCollectorVersionFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<UpdateSet?> CheckForUpdatesAsync(ManagedObjectReference _this, string? version);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidCollectorVersion), Name = "InvalidCollectorVersionFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    Task<UpdateSet> WaitForUpdatesAsync(ManagedObjectReference _this, string? version);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    Task CancelWaitForUpdatesAsync(ManagedObjectReference _this);
}

/// <summary>vmodl.query.PropertyCollector.Filter: one CreateFilter's spec, owned by the session that made it.</summary>
[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IPropertyFilter
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    Task DestroyPropertyFilterAsync(ManagedObjectReference _this);
}

/// <summary>
/// The undocumented <c>Fetch</c> pyVmomi 8 uses for every managed-property read: <c>_this</c> is the object read,
/// not a PropertyCollector. Every managed object accepts it.
/// </summary>
[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IManagedObject
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidProperty), Name = "InvalidPropertyFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemAnonymous)]
    [return: MessageParameter(Name = "returnval")]
    Task<object?> FetchAsync(ManagedObjectReference _this, string prop);
}
