using System.ServiceModel;
using System.Xml.Serialization;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Samples;

/// <summary>
/// The vim25 port as one WCF contract, so one channel (and so one <c>vmware_soap_session</c> cookie) serves every
/// call, like the WSDL's single VimPortType. It reuses GuestOps.Vim's contracts where their parameters are single
/// values. The operations with array parameters or results are declared here with message contracts, as svcutil
/// generates them from a WSDL: a WCF client ignores <c>[XmlElement]</c> on an operation's parameters and would wrap
/// arrays (<c>&lt;type&gt;&lt;string&gt;...</c>) where vim25 repeats the element (<c>&lt;type&gt;...&lt;/type&gt;</c>).
/// </summary>
[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
public interface IVimPort : IServiceInstance, ISessionManager, IView, IGuestFileManager
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    Task<CreateContainerViewResponse> CreateContainerViewAsync(CreateContainerViewRequest request);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidProperty), Name = "InvalidPropertyFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    Task<RetrievePropertiesExResponse> RetrievePropertiesExAsync(RetrievePropertiesExRequest request);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(InvalidProperty), Name = "InvalidPropertyFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [return: MessageParameter(Name = "returnval")]
    Task<RetrieveResult> ContinueRetrievePropertiesExAsync(ManagedObjectReference _this, string token);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [return: MessageParameter(Name = "returnval")]
    Task<long> StartProgramInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, GuestProgramSpec spec);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    Task<ListProcessesInGuestResponse> ListProcessesInGuestAsync(ListProcessesInGuestRequest request);
}

[MessageContract(WrapperName = "CreateContainerView", WrapperNamespace = VimNamespaces.Vim25, IsWrapped = true)]
public sealed class CreateContainerViewRequest
{
    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 0)]
    public ManagedObjectReference _this = new();

    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 1)]
    public ManagedObjectReference container = new();

    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 2)]
    [XmlElement("type")]
    public string[]? type;

    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 3)]
    public bool recursive;
}

[MessageContract(WrapperName = "CreateContainerViewResponse", WrapperNamespace = VimNamespaces.Vim25, IsWrapped = true)]
public sealed class CreateContainerViewResponse
{
    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 0)]
    public ManagedObjectReference returnval = new();
}

[MessageContract(WrapperName = "RetrievePropertiesEx", WrapperNamespace = VimNamespaces.Vim25, IsWrapped = true)]
public sealed class RetrievePropertiesExRequest
{
    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 0)]
    public ManagedObjectReference _this = new();

    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 1)]
    [XmlElement("specSet")]
    public PropertyFilterSpec[] specSet = [];

    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 2)]
    public RetrieveOptions options = new();
}

[MessageContract(WrapperName = "RetrievePropertiesExResponse", WrapperNamespace = VimNamespaces.Vim25, IsWrapped = true)]
public sealed class RetrievePropertiesExResponse
{
    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 0)]
    public RetrieveResult? returnval;
}

[MessageContract(WrapperName = "ListProcessesInGuest", WrapperNamespace = VimNamespaces.Vim25, IsWrapped = true)]
public sealed class ListProcessesInGuestRequest
{
    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 0)]
    public ManagedObjectReference _this = new();

    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 1)]
    public ManagedObjectReference vm = new();

    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 2)]
    public GuestAuthentication auth = new NamePasswordAuthentication();

    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 3)]
    [XmlElement("pids")]
    public long[]? pids;
}

[MessageContract(WrapperName = "ListProcessesInGuestResponse", WrapperNamespace = VimNamespaces.Vim25, IsWrapped = true)]
public sealed class ListProcessesInGuestResponse
{
    [MessageBodyMember(Namespace = VimNamespaces.Vim25, Order = 0)]
    [XmlElement("returnval")]
    public GuestProcessInfo[]? returnval;
}
