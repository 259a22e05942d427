using System.Globalization;
using System.Text;
using System.Xml;
using GuestOps.Vim;

namespace GuestOps.Cli.Soap;

/// <summary>
/// One vim25 request envelope, written as govmomi writes them: the operation element in <c>urn:vim25</c>, parameters in
/// WSDL order starting with <c>_this</c>, <c>xsi:type</c> on polymorphic data objects, optional values left out.
/// </summary>
public sealed class SoapRequest
{
    private static readonly XmlWriterSettings Settings = new() { Encoding = new UTF8Encoding(false), Indent = false, CloseOutput = false, NewLineHandling = NewLineHandling.Entitize };

    private readonly MemoryStream _body = new();
    private readonly XmlWriter _writer;

    public SoapRequest(string operation, ManagedObjectReference @this)
    {
        Operation = operation;
        _writer = XmlWriter.Create(_body, Settings);
        _writer.WriteStartDocument();
        _writer.WriteStartElement("soapenv", "Envelope", VimNamespaces.SoapEnvelope);
        _writer.WriteAttributeString("xmlns", "xsd", null, VimNamespaces.XmlSchema);
        _writer.WriteAttributeString("xmlns", "xsi", null, VimNamespaces.XmlSchemaInstance);
        _writer.WriteStartElement("Body", VimNamespaces.SoapEnvelope);
        _writer.WriteStartElement(operation, VimNamespaces.Vim25);
        MoRef("_this", @this);
    }

    public string Operation { get; }

    public SoapRequest MoRef(string name, ManagedObjectReference? value)
    {
        if (value is not null)
        {
            _writer.WriteStartElement(name, VimNamespaces.Vim25);
            _writer.WriteAttributeString("type", value.type);
            _writer.WriteString(value.Value);
            _writer.WriteEndElement();
        }

        return this;
    }

    public SoapRequest String(string name, string? value)
    {
        if (value is not null)
        {
            // NewLineHandling.Entitize keeps a CR as &#xD; (a raw CR would reach the server as LF).
            _writer.WriteElementString(name, VimNamespaces.Vim25, value);
        }

        return this;
    }

    public SoapRequest Strings(string name, IEnumerable<string>? values)
    {
        foreach (var value in values ?? [])
        {
            String(name, value);
        }

        return this;
    }

    public SoapRequest Bool(string name, bool value) => Raw(name, value ? "true" : "false");

    public SoapRequest Bool(string name, bool? value) => value is { } v ? Bool(name, v) : this;

    public SoapRequest Int(string name, int? value) => value is { } v ? Raw(name, v.ToString(CultureInfo.InvariantCulture)) : this;

    public SoapRequest Long(string name, long? value) => value is { } v ? Raw(name, v.ToString(CultureInfo.InvariantCulture)) : this;

    public SoapRequest DateTime(string name, DateTime? value) =>
        value is { } v ? Raw(name, v.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)) : this;

    /// <summary>An element with an <c>xsi:type</c> and content written by <paramref name="content"/>.</summary>
    public SoapRequest Typed(string name, string? xsiType, Action<SoapRequest> content)
    {
        _writer.WriteStartElement(name, VimNamespaces.Vim25);
        if (xsiType is not null)
        {
            _writer.WriteAttributeString("xsi", "type", VimNamespaces.XmlSchemaInstance, xsiType);
        }

        content(this);
        _writer.WriteEndElement();
        return this;
    }

    /// <summary>The guest authentication (reference 4.1), concrete type in xsi:type.</summary>
    public SoapRequest Auth(string name, GuestAuthentication auth) => auth switch
    {
        NamePasswordAuthentication np => Typed(name, nameof(NamePasswordAuthentication), r => r
            .Bool("interactiveSession", np.interactiveSession).String("username", np.username).String("password", np.password)),
        TicketedSessionAuthentication t => Typed(name, nameof(TicketedSessionAuthentication), r => r
            .Bool("interactiveSession", t.interactiveSession).String("ticket", t.ticket)),
        SSPIAuthentication s => Typed(name, nameof(SSPIAuthentication), r => r
            .Bool("interactiveSession", s.interactiveSession).String("sspiToken", s.sspiToken)),
        _ => throw new ArgumentException($"Unsupported guest authentication {auth.GetType().Name}.", nameof(auth)),
    };

    /// <summary>File attributes: a bare GuestFileAttributes, or the POSIX / Windows subtype with only the fields set.</summary>
    public SoapRequest Attributes(string name, GuestFileAttributes attributes) => attributes switch
    {
        GuestPosixFileAttributes p => Typed(name, nameof(GuestPosixFileAttributes), r => r
            .DateTime("modificationTime", p.modificationTime).DateTime("accessTime", p.accessTime)
            .Int("ownerId", p.ownerId).Int("groupId", p.groupId).Long("permissions", p.permissions)),
        GuestWindowsFileAttributes w => Typed(name, nameof(GuestWindowsFileAttributes), r => r
            .DateTime("modificationTime", w.modificationTime).DateTime("accessTime", w.accessTime)
            .Bool("hidden", w.hidden).Bool("readOnly", w.readOnly)),
        _ => Typed(name, null, r => r.DateTime("modificationTime", attributes.modificationTime).DateTime("accessTime", attributes.accessTime)),
    };

    public SoapRequest ProgramSpec(string name, GuestProgramSpec spec) =>
        Typed(name, nameof(GuestProgramSpec), r => r
            .String("programPath", spec.programPath).String("arguments", spec.arguments)
            .String("workingDirectory", spec.workingDirectory).Strings("envVariables", spec.envVariables));

    /// <summary>Any nested element without a type attribute (e.g. PropertyFilterSpec parts).</summary>
    public SoapRequest Element(string name, Action<SoapRequest> content) => Typed(name, null, content);

    /// <summary>The finished envelope.</summary>
    public byte[] ToArray()
    {
        _writer.WriteEndElement();
        _writer.WriteEndElement();
        _writer.WriteEndElement();
        _writer.WriteEndDocument();
        _writer.Flush();
        _writer.Dispose();
        return _body.ToArray();
    }

    private SoapRequest Raw(string name, string text)
    {
        _writer.WriteElementString(name, VimNamespaces.Vim25, text);
        return this;
    }
}
