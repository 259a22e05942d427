using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>Who this server says it is in <c>ServiceContent.about</c>: itself, shaped as an ESXi host agent (apiType
/// HostAgent, productLineId embeddedEsx), so clients replace the <c>*</c> host of a transfer URL with the address they
/// connected to, as they do for an ESXi host; a cluster's front end as vCenter (apiType VirtualCenter, productLineId
/// vpx), whose transfer URLs name the host that runs the VM.</summary>
public sealed class ServerIdentity(string instanceUuid, bool virtualCenter = false)
{
    public AboutInfo About { get; } = new()
    {
        name = "GuestOps",
        fullName = $"GuestOps (vSphere API {ServiceInstance.ApiVersion} guest operations)",
        vendor = "GuestOps",
        version = "8.0.3", // the vSphere release whose API this server speaks
        build = "0",
        localeVersion = "INTL",
        localeBuild = "000",
        osType = virtualCenter ? "linux-x64" : "vmnix-x86",
        productLineId = virtualCenter ? "vpx" : "embeddedEsx",
        apiType = virtualCenter ? "VirtualCenter" : "HostAgent",
        apiVersion = ServiceInstance.ApiVersion,
        instanceUuid = instanceUuid,
    };
}
