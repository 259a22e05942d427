using System.Net;
using System.Net.Http.Headers;
using System.Xml;
using System.Xml.Linq;
using GuestOps.Vim;

namespace GuestOps.Cli.Soap;

/// <summary>
/// vim25 SOAP 1.1 over HTTPS: POSTs envelopes to the endpoint's /sdk URL, keeps the <c>vmware_soap_session</c> cookie
/// (sent back as the server set it, reference 1.5) and turns SOAP faults into <see cref="SoapFaultException"/>.
/// </summary>
public sealed class VimSoapClient : IDisposable
{
    public const string SessionCookieName = "vmware_soap_session";

    /// <summary>The API release announced in SOAPAction; every guest operation used here exists since 5.0.</summary>
    private const string SoapAction = "urn:vim25/6.5";

    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreWhitespace = false,
        Async = true,
    };

    private static readonly XNamespace Envelope = VimNamespaces.SoapEnvelope;
    private static readonly XNamespace Xsi = VimNamespaces.XmlSchemaInstance;

    private readonly HttpClient _http;

    public VimSoapClient(Uri sdkUri, HttpMessageHandler handler, TimeSpan timeout)
    {
        SdkUri = sdkUri;
        _http = new HttpClient(handler, disposeHandler: false) { Timeout = timeout };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("guestops", typeof(VimSoapClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    public Uri SdkUri { get; }

    /// <summary>The session cookie pair as the server set it (<c>vmware_soap_session="..."</c>); null before a login.</summary>
    public string? SessionCookie { get; set; }

    /// <summary>Sends <paramref name="request"/>; returns the response element (<c>OperationResponse</c>).</summary>
    public async Task<XElement> InvokeAsync(SoapRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, SdkUri)
        {
            Content = new ByteArrayContent(request.ToArray()),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("text/xml") { CharSet = "utf-8" };
        message.Headers.TryAddWithoutValidation("SOAPAction", SoapAction);
        if (SessionCookie is not null)
        {
            message.Headers.TryAddWithoutValidation("Cookie", SessionCookie);
        }

        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
        {
            foreach (var cookie in cookies)
            {
                var pair = cookie.Split(';', 2)[0].Trim();
                if (pair.StartsWith(SessionCookieName + "=", StringComparison.Ordinal))
                {
                    SessionCookie = pair;
                }
            }
        }

        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.InternalServerError)
            || response.Content.Headers.ContentType?.MediaType is not ("text/xml" or "application/soap+xml" or "application/xml"))
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException(
                $"{request.Operation}: HTTP {(int)response.StatusCode} {response.ReasonPhrase} from {SdkUri}{(text.Length > 0 ? ": " + Shorten(text) : "")}",
                null, response.StatusCode);
        }

        XDocument document;
        await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
        using (var reader = XmlReader.Create(body, ReaderSettings))
        {
            document = await XDocument.LoadAsync(reader, LoadOptions.None, cancellationToken);
        }

        var first = document.Root?.Element(Envelope + "Body")?.Elements().FirstOrDefault()
            ?? throw new InvalidDataException($"{request.Operation}: the answer from {SdkUri} is not a SOAP envelope.");
        if (first.Name == Envelope + "Fault")
        {
            throw ReadFault(first);
        }

        return first;
    }

    /// <summary>A SOAP 1.1 fault: the detail's xsi:type, else the element name less "Fault", else the faultcode.</summary>
    public static SoapFaultException ReadFault(XElement fault)
    {
        var text = fault.Elements().FirstOrDefault(e => e.Name.LocalName == "faultstring")?.Value ?? "";
        var detail = fault.Elements().FirstOrDefault(e => e.Name.LocalName == "detail")?.Elements().FirstOrDefault();
        string name;
        if (detail?.Attribute(Xsi + "type") is { } type)
        {
            name = type.Value[(type.Value.IndexOf(':', StringComparison.Ordinal) + 1)..];
        }
        else if (detail is not null)
        {
            name = detail.Name.LocalName.EndsWith("Fault", StringComparison.Ordinal) ? detail.Name.LocalName[..^5] : detail.Name.LocalName;
        }
        else
        {
            name = fault.Elements().FirstOrDefault(e => e.Name.LocalName == "faultcode")?.Value ?? "SOAP fault";
        }

        return new SoapFaultException(name, text, detail);
    }

    private static string Shorten(string text)
    {
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length <= 200 ? text : text[..200] + "...";
    }

    public void Dispose() => _http.Dispose();
}
