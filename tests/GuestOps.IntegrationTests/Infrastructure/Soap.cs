using System.Security;
using System.Xml.Linq;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>A managed object reference as the tests write it.</summary>
public readonly record struct Moref(string Type, string Value)
{
    public static readonly Moref ServiceInstance = new("ServiceInstance", "ServiceInstance");
    public static readonly Moref SessionManager = new("SessionManager", "SessionManager");
    public static readonly Moref PropertyCollector = new("PropertyCollector", "propertyCollector");
    public static readonly Moref ViewManager = new("ViewManager", "ViewManager");
    public static readonly Moref SearchIndex = new("SearchIndex", "SearchIndex");
    public static readonly Moref GuestOperationsManager = new("GuestOperationsManager", "guestOperationsManager");
    public static readonly Moref RootFolder = new("Folder", "group-d1");
    public static readonly Moref Datacenter = new("Datacenter", "datacenter-2");
    public static readonly Moref VmFolder = new("Folder", "folder-3");

    public static Moref Vm(string id) => new("VirtualMachine", id);

    /// <summary><c>&lt;name type="Type"&gt;value&lt;/name&gt;</c></summary>
    public string Xml(string element) => $"<{element} type=\"{Soap.Escape(Type)}\">{Soap.Escape(Value)}</{element}>";

    public static Moref From(XElement element) => new((string?)element.Attribute("type") ?? "", element.Value);

    public override string ToString() => $"{Type}:{Value}";
}

/// <summary>Request envelopes in the shapes real clients send.</summary>
public static class Soap
{
    public const string Vim25 = "urn:vim25";
    public const string EnvelopeNamespace = "http://schemas.xmlsoap.org/soap/envelope/";
    public const string XsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";

    public static readonly XNamespace Vim = Vim25;
    public static readonly XNamespace Env = EnvelopeNamespace;
    public static readonly XNamespace Xsi = XsiNamespace;

    /// <summary>A pyVmomi-shaped envelope (soapenv prefix, xsi and xsd declared) around <paramref name="body"/>.</summary>
    public static string Envelope(string body) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        + "<soapenv:Envelope xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        + "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n"
        + $"<soapenv:Body>{body}</soapenv:Body>\n</soapenv:Envelope>";

    /// <summary>A call: <c>&lt;Op xmlns="urn:vim25"&gt;&lt;_this type=".."&gt;..&lt;/_this&gt;parameters&lt;/Op&gt;</c>.</summary>
    public static string Call(string operation, Moref @this, string parameters = "") =>
        Envelope($"<{operation} xmlns=\"urn:vim25\">{@this.Xml("_this")}{parameters}</{operation}>");

    public static string Element(string name, string value) => $"<{name}>{Escape(value)}</{name}>";

    public static string Escape(string value) => SecurityElement.Escape(value) ?? "";

    /// <summary>A PropertyFilterSpec with one PropertySpec per (type, paths) and one ObjectSpec.</summary>
    public static string FilterSpec(IEnumerable<(string Type, string[] Paths)> propSets, Moref obj, bool? skip = null, string selectSet = "")
    {
        var props = string.Concat(propSets.Select(p => $"<propSet><type>{Escape(p.Type)}</type>{string.Concat(p.Paths.Select(x => Element("pathSet", x)))}</propSet>"));
        var skipXml = skip is null ? "" : $"<skip>{(skip.Value ? "true" : "false")}</skip>";
        return $"<specSet>{props}<objectSet>{obj.Xml("obj")}{skipXml}{selectSet}</objectSet></specSet>";
    }

    /// <summary>RetrieveProperties of some paths of one object.</summary>
    public static string RetrieveProperties(Moref obj, params string[] paths) =>
        Call("RetrieveProperties", Moref.PropertyCollector, FilterSpec([(obj.Type, paths)], obj, skip: false));

    /// <summary>RetrievePropertiesEx of some paths of one object.</summary>
    public static string RetrievePropertiesEx(Moref obj, int? maxObjects, params string[] paths) =>
        Call("RetrievePropertiesEx", Moref.PropertyCollector,
            FilterSpec([(obj.Type, paths)], obj, skip: false) + Options(maxObjects));

    public static string Options(int? maxObjects) =>
        maxObjects is null ? "<options/>" : $"<options><maxObjects>{maxObjects}</maxObjects></options>";

    /// <summary>The pyVmomi pchelper spec: every object of <paramref name="type"/> in a ContainerView.</summary>
    public static string ViewSpec(Moref view, string type, params string[] paths) =>
        FilterSpec([(type, paths)], view, skip: true,
            selectSet: "<selectSet xsi:type=\"TraversalSpec\"><name>traverseEntities</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet>");
}
