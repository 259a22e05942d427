namespace GuestOps.Vim;

/// <summary>XML namespaces of the vim25 wire format.</summary>
public static class VimNamespaces
{
    public const string Vim25 = "urn:vim25";
    public const string SoapEnvelope = "http://schemas.xmlsoap.org/soap/envelope/";
    public const string SoapEncoding = "http://schemas.xmlsoap.org/soap/encoding/";
    public const string XmlSchema = "http://www.w3.org/2001/XMLSchema";
    public const string XmlSchemaInstance = "http://www.w3.org/2001/XMLSchema-instance";
}
