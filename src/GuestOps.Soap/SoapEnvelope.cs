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
        NewLineHandling = NewLineHandling.Entitize, // a CR in a guest file name must come back as a CR, not a LF
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

    /// <summary>Opens the envelope and positions the reader on the body's operation element. The reader refuses
    /// documents deeper than <see cref="MaxDepth"/> as it goes.</summary>
    public static XmlReader OpenOperation(Stream body, XmlReaderSettings settings)
    {
        var reader = new DepthLimitedXmlReader(XmlReader.Create(body, settings), MaxDepth);
        reader.MoveToContent();
        if (reader.LocalName != "Envelope" || reader.NamespaceURI != VimNamespaces.SoapEnvelope)
        {
            throw new SoapRequestException("The request is not a SOAP 1.1 envelope.");
        }

        reader.ReadStartElement();
        reader.MoveToContent();
        while (reader.NodeType == XmlNodeType.Element && !(reader.LocalName == "Body" && reader.NamespaceURI == VimNamespaces.SoapEnvelope))
        {
            reader.Skip(); // a Header, ignored
            reader.MoveToContent();
        }

        if (reader.NodeType != XmlNodeType.Element || reader.IsEmptyElement)
        {
            throw new SoapRequestException("The SOAP body holds no operation.");
        }

        reader.ReadStartElement();
        if (reader.MoveToContent() != XmlNodeType.Element)
        {
            throw new SoapRequestException("The SOAP body holds no operation.");
        }

        return reader;
    }

    /// <summary>The <c>_this</c> child of the operation element the reader is on (for faults about unknown operations).</summary>
    public static ManagedObjectReference? ReadThis(XmlReader reader)
    {
        if (reader.IsEmptyElement)
        {
            return null;
        }

        var depth = reader.Depth;
        while (reader.Read() && reader.Depth > depth)
        {
            if (reader.NodeType == XmlNodeType.Element && reader.Depth == depth + 1 && reader.LocalName == "_this")
            {
                var type = reader.GetAttribute("type") ?? "";
                return new ManagedObjectReference(type, reader.IsEmptyElement ? "" : reader.ReadElementContentAsString());
            }
        }

        return null;
    }

    /// <summary>Reads what follows the operation element to the end, so a truncated or malformed envelope is refused.</summary>
    public static void ReadToEnd(XmlReader reader)
    {
        while (reader.Read())
        {
        }
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
