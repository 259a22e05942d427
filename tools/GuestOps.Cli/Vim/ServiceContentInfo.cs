using GuestOps.Cli.Soap;
using GuestOps.Vim;
using System.Xml.Linq;

namespace GuestOps.Cli.Vim;

/// <summary>The parts of ServiceContent the CLI uses (reference 2.1).</summary>
public sealed record ServiceContentInfo(
    ManagedObjectReference RootFolder,
    ManagedObjectReference PropertyCollector,
    ManagedObjectReference? ViewManager,
    ManagedObjectReference? SessionManager,
    ManagedObjectReference? SearchIndex,
    ManagedObjectReference? GuestOperationsManager,
    string FullName,
    string ApiType,
    string ApiVersion)
{
    public static ServiceContentInfo Read(XElement content)
    {
        var about = content.Child("about");
        return new ServiceContentInfo(
            content.MoRef("rootFolder") ?? throw new InvalidDataException("ServiceContent without rootFolder."),
            content.MoRef("propertyCollector") ?? throw new InvalidDataException("ServiceContent without propertyCollector."),
            content.MoRef("viewManager"),
            content.MoRef("sessionManager"),
            content.MoRef("searchIndex"),
            content.MoRef("guestOperationsManager"),
            about?.Text("fullName") ?? "",
            about?.Text("apiType") ?? "",
            about?.Text("apiVersion") ?? "");
    }

    public ManagedObjectReference Require(ManagedObjectReference? reference, string name) =>
        reference ?? throw new CliException($"The endpoint ({FullName}) has no {name}: it does not offer guest operations.");
}
