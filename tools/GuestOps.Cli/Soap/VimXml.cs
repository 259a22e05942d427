using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using GuestOps.Vim;

namespace GuestOps.Cli.Soap;

/// <summary>
/// Reads vim25 answers into GuestOps.Vim's data objects by element local name. Unknown elements and unknown xsi:types
/// (a newer server's additions) are ignored rather than failing the whole answer.
/// </summary>
public static class VimXml
{
    private static readonly XNamespace Xsi = VimNamespaces.XmlSchemaInstance;

    public static IEnumerable<XElement> Children(this XElement element, string name) =>
        element.Elements().Where(e => e.Name.LocalName == name);

    public static XElement? Child(this XElement element, string name) => element.Children(name).FirstOrDefault();

    public static string? Text(this XElement element, string name) => element.Child(name)?.Value;

    public static long? Long(this XElement element, string name) =>
        element.Text(name) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : null;

    public static int? Int(this XElement element, string name) =>
        element.Text(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;

    public static bool? Bool(this XElement element, string name) =>
        element.Text(name) is { } v ? v is "true" or "1" : null;

    public static DateTime? Time(this XElement element, string name) =>
        element.Text(name) is { } v ? XmlConvert.ToDateTime(v, XmlDateTimeSerializationMode.Utc) : null;

    /// <summary>The local name of an element's xsi:type (null when absent).</summary>
    public static string? XsiType(this XElement element) =>
        element.Attribute(Xsi + "type")?.Value is { } t ? t[(t.IndexOf(':', StringComparison.Ordinal) + 1)..] : null;

    public static ManagedObjectReference MoRef(XElement element) =>
        new((string?)element.Attribute("type") ?? "", element.Value);

    public static ManagedObjectReference? MoRef(this XElement element, string name) =>
        element.Child(name) is { } e ? MoRef(e) : null;

    /// <summary>The <c>returnval</c> elements of a response.</summary>
    public static IEnumerable<XElement> ReturnValues(this XElement response) => response.Children("returnval");

    public static GuestFileAttributes Attributes(XElement element)
    {
        GuestFileAttributes attributes = element.XsiType() switch
        {
            nameof(GuestPosixFileAttributes) => new GuestPosixFileAttributes
            {
                ownerId = element.Int("ownerId"),
                groupId = element.Int("groupId"),
                permissions = element.Long("permissions"),
            },
            nameof(GuestWindowsFileAttributes) => new GuestWindowsFileAttributes
            {
                hidden = element.Bool("hidden"),
                readOnly = element.Bool("readOnly"),
                createTime = element.Time("createTime"),
            },
            _ => new GuestFileAttributes(),
        };
        attributes.modificationTime = element.Time("modificationTime");
        attributes.accessTime = element.Time("accessTime");
        attributes.symlinkTarget = element.Text("symlinkTarget");
        return attributes;
    }

    public static GuestFileInfo FileInfo(XElement element) => new()
    {
        path = element.Text("path") ?? "",
        type = element.Text("type") ?? "",
        size = element.Long("size") ?? 0,
        attributes = element.Child("attributes") is { } a ? Attributes(a) : new GuestFileAttributes(),
    };

    public static GuestListFileInfo ListFileInfo(XElement element) => new()
    {
        files = element.Children("files").Select(FileInfo).ToArray(),
        remaining = element.Int("remaining") ?? 0,
    };

    public static FileTransferInformation TransferInformation(XElement element) => new()
    {
        attributes = element.Child("attributes") is { } a ? Attributes(a) : new GuestFileAttributes(),
        size = element.Long("size") ?? 0,
        url = element.Text("url") ?? "",
    };

    public static GuestProcessInfo ProcessInfo(XElement element) => new()
    {
        name = element.Text("name") ?? "",
        pid = element.Long("pid") ?? 0,
        owner = element.Text("owner") ?? "",
        cmdLine = element.Text("cmdLine") ?? "",
        startTime = element.Time("startTime") ?? default,
        endTime = element.Time("endTime"),
        exitCode = element.Int("exitCode"),
    };
}
