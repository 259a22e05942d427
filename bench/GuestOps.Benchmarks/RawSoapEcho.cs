using GuestOps.Soap;
using System.Buffers;
using System.Text;
using System.Xml;
using Microsoft.AspNetCore.Http;

namespace GuestOps.Benchmarks;

/// <summary>
/// The baseline: a raw SOAP endpoint with no XmlSerializer, no dispatch and no sessions. It buffers the body (pooled),
/// reads the whole envelope once with an XmlReader hardened like GuestOps's (DTD prohibited, no resolver, bounded),
/// finds the body's operation element and <c>_this</c>, and writes a hard-coded response envelope with an XmlWriter,
/// node by node. The response is a replay of GuestOps's own answer to the same request, so both sides send the same
/// bytes.
/// </summary>
internal sealed class RawSoapEcho(XmlReplay response, string expectedOperation)
{
    private const string SoapEnvelopeNs = "http://schemas.xmlsoap.org/soap/envelope/";
    private const int MaxRequestBytes = 16 * 1024 * 1024;

    /// <summary>The settings of GuestOps's SoapEnvelope.ReaderSettings, repeated here (that type is internal).</summary>
    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        CloseInput = false,
        MaxCharactersInDocument = MaxRequestBytes,
        MaxCharactersFromEntities = 0,
    };

    private static readonly XmlWriterSettings WriterSettings = new()
    {
        Encoding = new UTF8Encoding(false),
        Indent = false,
        CloseOutput = false,
    };

    public XmlReplay Response => response;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var body = new PooledBufferStream(request.ContentLength is > 0 and < 1 << 20 ? (int)request.ContentLength.Value + 1 : 8192);
        if (!await body.FillAsync(request.Body, MaxRequestBytes, context.RequestAborted))
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return;
        }

        using var output = new PooledBufferStream(response.Utf8Length + 256);
        context.Response.StatusCode = Process(body, output) ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError;
        context.Response.ContentType = "text/xml; charset=utf-8";
        context.Response.ContentLength = output.Length;
        await context.Response.Body.WriteAsync(output.WrittenMemory, context.RequestAborted);
    }

    /// <summary>The XML work of one request, without HTTP: true with the response envelope, false with a fault.</summary>
    public bool Process(Stream body, Stream output)
    {
        string? operation = null;
        string? thisType = null;
        string? thisValue = null;
        try
        {
            using var reader = XmlReader.Create(body, ReaderSettings);
            reader.MoveToContent();
            if (reader.LocalName != "Envelope" || reader.NamespaceURI != SoapEnvelopeNs)
            {
                return Fault(output, "Not a SOAP 1.1 envelope.");
            }

            var inBody = false;
            // One pass over the whole document: the reader checks well-formedness to the end, like any real endpoint.
            while (reader.Read())
            {
                if (reader.NodeType != XmlNodeType.Element)
                {
                    continue;
                }

                if (!inBody)
                {
                    inBody = reader.Depth == 1 && reader.LocalName == "Body" && reader.NamespaceURI == SoapEnvelopeNs;
                }
                else if (operation is null && reader.Depth == 2)
                {
                    operation = reader.LocalName;
                }
                else if (operation is not null && thisValue is null && reader.Depth == 3 && reader.LocalName == "_this")
                {
                    thisType = reader.GetAttribute("type");
                    thisValue = reader.ReadElementContentAsString();
                }
            }
        }
        catch (XmlException e)
        {
            return Fault(output, "The request is not well-formed XML: " + e.Message);
        }

        if (operation != expectedOperation || string.IsNullOrEmpty(thisType) || string.IsNullOrEmpty(thisValue))
        {
            return Fault(output, $"Unexpected call {operation} on {thisType}:{thisValue}.");
        }

        using var writer = XmlWriter.Create(output, WriterSettings);
        response.WriteTo(writer);
        writer.Flush();
        return true;
    }

    private static bool Fault(Stream output, string message)
    {
        output.SetLength(0);
        using var writer = XmlWriter.Create(output, WriterSettings);
        writer.WriteStartDocument();
        writer.WriteStartElement("soapenv", "Envelope", SoapEnvelopeNs);
        writer.WriteStartElement("soapenv", "Body", SoapEnvelopeNs);
        writer.WriteStartElement("soapenv", "Fault", SoapEnvelopeNs);
        writer.WriteElementString("faultcode", "ServerFaultCode");
        writer.WriteElementString("faultstring", message);
        writer.WriteEndDocument();
        writer.Flush();
        return false;
    }
}

/// <summary>
/// A response envelope recorded once (from GuestOps's answer) as a list of nodes, and written again per request with
/// XmlWriter calls: elements, attributes (namespace declarations and xsi:type included) and text, no XmlSerializer.
/// </summary>
internal sealed class XmlReplay
{
    private readonly Node[] _nodes;

    private XmlReplay(Node[] nodes, int utf8Length)
    {
        _nodes = nodes;
        Utf8Length = utf8Length;
    }

    public int Utf8Length { get; }

    public static XmlReplay Record(byte[] envelope)
    {
        var nodes = new List<Node>();
        using var reader = XmlReader.Create(new MemoryStream(envelope), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
        while (reader.Read())
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var empty = reader.IsEmptyElement;
                    var attributes = new List<Attr>();
                    if (reader.MoveToFirstAttribute())
                    {
                        do
                        {
                            attributes.Add(new Attr(reader.Prefix, reader.LocalName, reader.NamespaceURI, reader.Value));
                        }
                        while (reader.MoveToNextAttribute());
                        reader.MoveToElement();
                    }

                    nodes.Add(new Node(NodeKind.Start, reader.Prefix, reader.LocalName, reader.NamespaceURI, null, [.. attributes]));
                    if (empty)
                    {
                        nodes.Add(new Node(NodeKind.EndEmpty, "", "", "", null, []));
                    }

                    break;
                case XmlNodeType.EndElement:
                    nodes.Add(new Node(NodeKind.End, "", "", "", null, []));
                    break;
                case XmlNodeType.Text or XmlNodeType.SignificantWhitespace or XmlNodeType.Whitespace or XmlNodeType.CDATA:
                    nodes.Add(new Node(NodeKind.Text, "", "", "", reader.Value, []));
                    break;
                case XmlNodeType.XmlDeclaration:
                    nodes.Add(new Node(NodeKind.Declaration, "", "", "", null, []));
                    break;
            }
        }

        return new XmlReplay([.. nodes], envelope.Length);
    }

    public void WriteTo(XmlWriter writer)
    {
        foreach (var node in _nodes)
        {
            switch (node.Kind)
            {
                case NodeKind.Declaration:
                    writer.WriteStartDocument();
                    break;
                case NodeKind.Start:
                    writer.WriteStartElement(node.Prefix, node.LocalName, node.Namespace);
                    foreach (var a in node.Attributes)
                    {
                        writer.WriteAttributeString(a.Prefix, a.LocalName, a.Namespace, a.Value);
                    }

                    break;
                case NodeKind.EndEmpty:
                    writer.WriteEndElement();
                    break;
                case NodeKind.End:
                    writer.WriteFullEndElement();
                    break;
                case NodeKind.Text:
                    writer.WriteString(node.Text);
                    break;
            }
        }
    }

    private enum NodeKind
    {
        Declaration,
        Start,
        EndEmpty,
        End,
        Text,
    }

    private sealed record Attr(string Prefix, string LocalName, string Namespace, string Value);

    private sealed record Node(NodeKind Kind, string Prefix, string LocalName, string Namespace, string? Text, Attr[] Attributes);
}
