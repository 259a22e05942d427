using System.Security;

namespace GuestOps.Benchmarks;

/// <summary>What a measured request needs from the server set-up: the session cookie and the VMs' container view.</summary>
internal sealed record SessionState(string SessionKey, string ContainerView, IReadOnlyList<string> VmIds);

/// <summary>One measured vim25 call: its wire operation, how its request body is built, and the raw echo's route.</summary>
internal sealed class BenchOperation
{
    private const string VmProperties =
        "<propSet><type>VirtualMachine</type><all>false</all><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet><pathSet>guest.guestOperationsReady</pathSet></propSet>";

    /// <summary>Anonymous: the first call of every client (pyVmomi capture 002, byte for byte).</summary>
    public static readonly BenchOperation RetrieveServiceContent = new(
        "RetrieveServiceContent", ["rsc"], "RetrieveServiceContent", "rsc", needsSession: false,
        _ => """<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent>""");

    /// <summary>With a session: every VM through the session's ContainerView and a TraversalSpec, as pyVmomi finds VMs.</summary>
    public static readonly BenchOperation RetrievePropertiesEx = new(
        "RetrievePropertiesEx", ["rpex", "RetrievePropertiesEx-view"], "RetrievePropertiesEx", "rpex", needsSession: true,
        s => """<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet>"""
            + VmProperties
            + $"""<objectSet><obj type="ContainerView">{s.ContainerView}</obj><skip>true</skip>"""
            + """<selectSet xsi:type="TraversalSpec"><name>traverseEntities</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet>"""
            + """</specSet><options></options></RetrievePropertiesEx>""");

    /// <summary>With a session: two VMs named directly by ObjectSpecs.</summary>
    public static readonly BenchOperation RetrievePropertiesExObjects = new(
        "RetrievePropertiesEx-objects", ["rpex-objects", "rpex-direct"], "RetrievePropertiesEx", "rpex-objects", needsSession: true,
        s => """<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet>"""
            + VmProperties
            + string.Concat(s.VmIds.Select(id => $"""<objectSet><obj type="VirtualMachine">{id}</obj><skip>false</skip></objectSet>"""))
            + """</specSet><options></options></RetrievePropertiesEx>""");

    public static readonly IReadOnlyList<BenchOperation> All = [RetrieveServiceContent, RetrievePropertiesEx, RetrievePropertiesExObjects];

    /// <summary>The chain suite's call (not in <see cref="All"/>: it needs guests): ListFilesInGuest of one directory of
    /// one VM with NamePasswordAuthentication, as govmomi sends it (reference 4.1), default paging (maxResults absent).</summary>
    public static BenchOperation ListFilesInGuest(string vmId, string user, string password, string path) => new(
        "ListFilesInGuest", ["lfig"], "ListFilesInGuest", "lfig", needsSession: true,
        _ => """<ListFilesInGuest xmlns="urn:vim25"><_this type="GuestFileManager">guestOperationsFileManager</_this>"""
            + $"""<vm type="VirtualMachine">{SecurityElement.Escape(vmId)}</vm>"""
            + """<auth xsi:type="NamePasswordAuthentication"><interactiveSession>false</interactiveSession>"""
            + $"""<username>{SecurityElement.Escape(user)}</username><password>{SecurityElement.Escape(password)}</password></auth>"""
            + $"""<filePath>{SecurityElement.Escape(path)}</filePath></ListFilesInGuest>""");

    private readonly string[] _aliases;
    private readonly Func<SessionState, string> _body;

    private BenchOperation(string name, string[] aliases, string wireOperation, string rawName, bool needsSession, Func<SessionState, string> body)
    {
        Name = name;
        _aliases = aliases;
        WireOperation = wireOperation;
        RawRoute = "/raw/" + rawName;
        NeedsSession = needsSession;
        _body = body;
    }

    /// <summary>The name used on the command line and in the report.</summary>
    public string Name { get; }

    /// <summary>The body element's local name.</summary>
    public string WireOperation { get; }

    /// <summary>The raw echo's route for this operation (a literal route, like /sdk).</summary>
    public string RawRoute { get; }

    public bool NeedsSession { get; }

    public bool Matches(string name) =>
        name.Equals(Name, StringComparison.OrdinalIgnoreCase) || _aliases.Any(a => a.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The request both endpoints get: same body, same headers (the cookie too, which the raw echo ignores).</summary>
    public SoapRequest Request(SessionState session) => new(
        BenchServer.Envelope(_body(session)),
        NeedsSession ? $"vmware_soap_session=\"{session.SessionKey}\"" : null);

    public override string ToString() => Name;
}

/// <summary>A SOAP POST as the load generators send it.</summary>
internal sealed record SoapRequest(byte[] Body, string? Cookie)
{
    public const string ContentType = "text/xml; charset=UTF-8";

    /// <summary>pyVmomi sends the quoted namespace/version; the server accepts any.</summary>
    public const string SoapAction = "\"urn:vim25/8.0.3.0\"";
}
