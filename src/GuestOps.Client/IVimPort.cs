using System.ServiceModel;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Client;

/// <summary>
/// Every vim25 service contract of GuestOps.Vim as one port, as VMware's WSDL declares a single VimPortType: one
/// channel then carries every call, and its cookie container keeps the session cookie for all of them.
/// </summary>
[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IVimPort :
    IServiceInstance,
    ISessionManager,
    IPropertyCollector,
    IPropertyFilter,
    IManagedObject,
    IViewManager,
    IView,
    ISearchIndex,
    IGuestAuthManager,
    IGuestFileManager,
    IGuestProcessManager,
    IAuthorizationManager,
    IEventManager,
    IHostLocalAccountManager
{
}
