using GuestOps.Vim;

namespace GuestOps.Server;

/// <summary>Who this server says it is in <c>ServiceContent.about</c>: itself, shaped as an ESXi host agent (apiType HostAgent,
/// productLineId embeddedEsx)
/// so clients use the <c>*</c> transfer URLs as they are (reference 7.4).</summary>
public sealed class ServerIdentity(string instanceUuid)
{
    public AboutInfo About { get; } = new()
    {
        name = "GuestOps",
        fullName = $"GuestOps (vSphere API {ManagedObjects.ServiceInstance.ApiVersion} guest operations)",
        vendor = "GuestOps",
        version = "8.0.3", // the vSphere release whose API this server speaks
        build = "0",
        localeVersion = "INTL",
        localeBuild = "000",
        osType = "vmnix-x86",
        productLineId = "embeddedEsx",
        apiType = "HostAgent",
        apiVersion = ManagedObjects.ServiceInstance.ApiVersion,
        instanceUuid = instanceUuid,
            };
}
