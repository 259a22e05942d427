namespace GuestOps.Vim.Contracts;

[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface ISessionManager
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidLogin), Name = "InvalidLoginFault")]
    [FaultContract(typeof(InvalidLocale), Name = "InvalidLocaleFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemAnonymous)]
    [return: MessageParameter(Name = "returnval")]
    Task<UserSession> LoginAsync(ManagedObjectReference _this, string userName, string password, string? locale);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    Task LogoutAsync(ManagedObjectReference _this);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SessionsValidateSession)]
    [return: MessageParameter(Name = "returnval")]
    Task<bool> SessionIsActiveAsync(ManagedObjectReference _this, string sessionID, string userName);
}
