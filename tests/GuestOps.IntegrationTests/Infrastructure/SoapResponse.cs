using System.Xml;
using System.Xml.Linq;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>A vim fault as it came over the wire.</summary>
/// <param name="DetailElement">The local name of the detail child, e.g. <c>RuntimeFaultFault</c>.</param>
/// <param name="Type">The concrete fault type from the detail's xsi:type, e.g. <c>NotAuthenticated</c>.</param>
public sealed record VimFault(string FaultCode, string FaultString, string DetailElement, string Type, XElement Detail);

/// <summary>One HTTP answer of the server, with helpers to read SOAP results and faults.</summary>
public sealed class SoapResponse
{
    private XDocument? _xml;

    public SoapResponse(string description, int statusCode, string? contentType, string body, IReadOnlyList<(string Name, string Value)> headers, TimeSpan elapsed)
    {
        Description = description;
        StatusCode = statusCode;
        ContentType = contentType;
        Body = body;
        Headers = headers;
        Elapsed = elapsed;
    }

    public string Description { get; }

    public int StatusCode { get; }

    public string? ContentType { get; }

    public string Body { get; }

    public IReadOnlyList<(string Name, string Value)> Headers { get; }

    public TimeSpan Elapsed { get; }

    public IEnumerable<string> HeaderValues(string name) =>
        Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    public string? SetCookie => HeaderValues("Set-Cookie").FirstOrDefault();

    public XDocument Xml
    {
        get
        {
            if (_xml is null)
            {
                try
                {
                    _xml = XDocument.Parse(Body);
                }
                catch (XmlException e)
                {
                    throw new AssertFailedException($"{Description}: the response is not well-formed XML ({e.Message}).{Environment.NewLine}{Shorten(Body)}");
                }
            }

            return _xml;
        }
    }

    /// <summary>The single child of soapenv:Body.</summary>
    public XElement Payload =>
        Xml.Root?.Element(Soap.Env + "Body")?.Elements().FirstOrDefault()
        ?? throw new AssertFailedException($"{Description}: no soapenv:Body payload.{Environment.NewLine}{Shorten(Body)}");

    /// <summary>Asserts HTTP 200 and a <c>&lt;operation&gt;Response</c> payload in urn:vim25; returns the payload.</summary>
    public XElement AssertOk(string operation)
    {
        if (StatusCode != 200)
        {
            throw new AssertFailedException($"{Description}: expected HTTP 200 for {operation}, got {StatusCode}.{Environment.NewLine}{Shorten(Body)}");
        }

        var payload = Payload;
        if (payload.Name != Soap.Vim + (operation + "Response"))
        {
            throw new AssertFailedException($"{Description}: expected {{urn:vim25}}{operation}Response, got {payload.Name}.{Environment.NewLine}{Shorten(Body)}");
        }

        return payload;
    }

    /// <summary>The returnval children of a successful <paramref name="operation"/>.</summary>
    public IReadOnlyList<XElement> ReturnValues(string operation) => AssertOk(operation).Elements(Soap.Vim + "returnval").ToList();

    /// <summary>Reads the response as a vim fault without asserting anything about its type.</summary>
    public VimFault ReadFault()
    {
        var fault = Payload;
        if (fault.Name != Soap.Env + "Fault")
        {
            throw new AssertFailedException($"{Description}: expected a soapenv:Fault, got {fault.Name} (HTTP {StatusCode}).{Environment.NewLine}{Shorten(Body)}");
        }

        var detail = fault.Element("detail")?.Elements().ToList() ?? [];
        if (detail.Count != 1)
        {
            throw new AssertFailedException($"{Description}: the fault must have one detail child, found {detail.Count}.{Environment.NewLine}{Shorten(Body)}");
        }

        var xsiType = (string?)detail[0].Attribute(Soap.Xsi + "type") ?? "";
        var colon = xsiType.IndexOf(':', StringComparison.Ordinal);
        var prefix = colon < 0 ? "" : xsiType[..colon];
        var local = colon < 0 ? xsiType : xsiType[(colon + 1)..];
        var ns = prefix.Length == 0 ? detail[0].GetDefaultNamespace() : detail[0].GetNamespaceOfPrefix(prefix);
        if (ns != Soap.Vim)
        {
            throw new AssertFailedException($"{Description}: the detail's xsi:type '{xsiType}' is not a urn:vim25 type.{Environment.NewLine}{Shorten(Body)}");
        }

        return new VimFault(
            (string?)fault.Element("faultcode") ?? "",
            (string?)fault.Element("faultstring") ?? "",
            detail[0].Name.LocalName,
            local,
            detail[0]);
    }

    /// <summary>
    /// Asserts a vim fault as vSphere sends it: HTTP 500, text/xml, faultcode ServerFaultCode, one detail
    /// element in urn:vim25 named <c>&lt;Declared&gt;Fault</c> whose xsi:type is <paramref name="type"/>, no stack trace.
    /// </summary>
    public VimFault AssertFault(string type, string? detailElement = null)
    {
        if (StatusCode != 500)
        {
            throw new AssertFailedException($"{Description}: expected HTTP 500 with a {type} fault, got {StatusCode}.{Environment.NewLine}{Shorten(Body)}");
        }

        if (ContentType is null || !ContentType.StartsWith("text/xml", StringComparison.OrdinalIgnoreCase))
        {
            throw new AssertFailedException($"{Description}: a fault must be text/xml, got '{ContentType}'.");
        }

        var fault = ReadFault();
        Assert.AreEqual("ServerFaultCode", fault.FaultCode, $"{Description}: faultcode");
        Assert.AreEqual(type, fault.Type, $"{Description}: fault type (xsi:type of the detail).{Environment.NewLine}{Shorten(Body)}");
        Assert.AreEqual(Soap.Vim, fault.Detail.Name.Namespace, $"{Description}: detail element namespace");
        Assert.IsTrue(fault.DetailElement.EndsWith("Fault", StringComparison.Ordinal), $"{Description}: detail element '{fault.DetailElement}' must be named <Type>Fault");
        if (detailElement is not null)
        {
            Assert.AreEqual(detailElement, fault.DetailElement, $"{Description}: detail element name (the fault the operation declares)");
        }

        Assert.IsFalse(string.IsNullOrWhiteSpace(fault.FaultString), $"{Description}: faultstring must say something");
        AssertNoStackTrace();
        return fault;
    }

    /// <summary>No .NET internals in what a client sees.</summary>
    public void AssertNoStackTrace()
    {
        string[] markers = ["   at ", ".cs:line", "Exception:", "System.Xml.", "System.InvalidOperationException", "--- End of"];
        foreach (var marker in markers)
        {
            Assert.IsFalse(Body.Contains(marker, StringComparison.Ordinal), $"{Description}: the response leaks internals ('{marker}').{Environment.NewLine}{Shorten(Body)}");
        }
    }

    public override string ToString() => $"{Description}: HTTP {StatusCode} {ContentType} ({Elapsed.TotalMilliseconds:0} ms){Environment.NewLine}{Shorten(Body)}";

    public static string Shorten(string text, int max = 4000) => text.Length <= max ? text : text[..max] + $"... ({text.Length} chars)";
}
