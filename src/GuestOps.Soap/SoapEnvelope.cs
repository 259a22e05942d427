using System.Text;
using System.Xml;
using GuestOps.Vim;

namespace GuestOps.Soap;

/// <summary>SOAP 1.1 envelope reading and writing, hardened: no DTDs, no external resolution, bounded depth.</summary>
internal static class SoapEnvelope
{
    public const int MaxDepth = 64;

    private static readonly XmlWriterSettings WriterSettings = new()
    {
        Encoding = new UTF8Encoding(false),
        Indent = false,
        CloseOutput = false,
    };

    public static XmlReaderSettings ReaderSettings(long maxCharacters) => new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        CloseInput = false,
        MaxCharactersInDocument = maxCharacters,
        MaxCharactersFromEntities = 0,
    };

    /// <summary>Reads the whole envelope once: well-formed, not too deep, SOAP 1.1 shaped. Returns the body's
    /// operation element name and the text of its <c>_this</c> child (for faults about unknown operations).</summary>
    public static (string Operation, ManagedObjectReference? This) Scan(Stream body, XmlReaderSettings settings)
    {
        using var reader = XmlReader.Create(body, settings);
        reader.MoveToContent();
        if (reader.LocalName != "Envelope" || reader.NamespaceURI != VimNamespaces.SoapEnvelope)
        {
            throw new SoapRequestException("The request is not a SOAP 1.1 envelope.");
        }

        string? operation = null;
        ManagedObjectReference? @this = null;
        var bodyDepth = -1;
        while (reader.Read())
        {
            if (reader.Depth > MaxDepth)
            {
                throw new SoapRequestException($"The request nests elements deeper than {MaxDepth} levels.");
            }

            if (reader.NodeType != XmlNodeType.Element)
            {
                continue;
            }

            if (bodyDepth < 0 && reader.Depth == 1 && reader.LocalName == "Body" && reader.NamespaceURI == VimNamespaces.SoapEnvelope)
            {
                bodyDepth = 1;
            }
            else if (bodyDepth >= 0 && operation is null && reader.Depth == bodyDepth + 1)
            {
                operation = reader.LocalName;
            }
            else if (operation is not null && @this is null && reader.Depth == bodyDepth + 2 && reader.LocalName == "_this")
            {
                var type = reader.GetAttribute("type") ?? "";
                @this = new ManagedObjectReference(type, reader.IsEmptyElement ? "" : reader.ReadElementContentAsString());
                if (reader.Depth > MaxDepth)
                {
                    throw new SoapRequestException($"The request nests elements deeper than {MaxDepth} levels.");
                }
            }
        }

        return (operation ?? throw new SoapRequestException("The SOAP body holds no operation."), @this);
    }

    /// <summary>Positions a reader on the body's operation element.</summary>
    public static XmlReader OpenOperation(Stream body, XmlReaderSettings settings)
    {
        var reader = XmlReader.Create(body, settings);
        reader.MoveToContent();
        reader.ReadStartElement("Envelope", VimNamespaces.SoapEnvelope);
        reader.MoveToContent();
        while (!(reader.LocalName == "Body" && reader.NamespaceURI == VimNamespaces.SoapEnvelope))
        {
            reader.Skip(); // a Header, ignored
            reader.MoveToContent();
        }

        reader.ReadStartElement("Body", VimNamespaces.SoapEnvelope);
        reader.MoveToContent();
        return reader;
    }

    public static XmlWriter StartEnvelope(Stream output)
    {
        var writer = XmlWriter.Create(output, WriterSettings);
        writer.WriteStartDocument();
        writer.WriteStartElement("soapenv", "Envelope", VimNamespaces.SoapEnvelope);
        writer.WriteAttributeString("xmlns", "soapenc", null, VimNamespaces.SoapEncoding);
        writer.WriteAttributeString("xmlns", "soapenv", null, VimNamespaces.SoapEnvelope);
        writer.WriteAttributeString("xmlns", "xsd", null, VimNamespaces.XmlSchema);
        writer.WriteAttributeString("xmlns", "xsi", null, VimNamespaces.XmlSchemaInstance);
        writer.WriteStartElement("soapenv", "Body", VimNamespaces.SoapEnvelope);
        return writer;
    }

    public static void EndEnvelope(XmlWriter writer)
    {
        writer.WriteEndElement();
        writer.WriteEndElement();
        writer.WriteEndDocument();
        writer.Flush();
    }
}

/// <summary>The request could not be read as a SOAP call; answered with an InvalidRequest fault.</summary>
internal sealed class SoapRequestException(string message, Exception? inner = null) : Exception(message, inner);
