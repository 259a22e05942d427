using System.Globalization;
using System.Net;
using System.Security;
using System.Text;
using System.Xml.Linq;

namespace GuestOps.Reliability.Infrastructure;

/// <summary>A call that did not succeed, classified: <c>fault:Type</c>, <c>http:NNN</c> or <c>error:ExceptionType</c>.</summary>
internal sealed class VimCallException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;
}

/// <summary>
/// One vSphere client as the load and scale runs drive it: its own keep-alive HTTPS connection, its own session, guest
/// operations as pyVmomi sends them (NamePasswordAuthentication), and the /guestFile transfers without the cookie.
/// </summary>
internal sealed class VimCaller : IDisposable
{
    private static readonly XNamespace Vim = "urn:vim25";
    private static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";
    private readonly HttpClient _http;
    private readonly Uri _base;
    private string? _cookie;

    public VimCaller(Uri baseUri, TimeSpan timeout)
    {
        _base = baseUri;
        var handler = new SocketsHttpHandler
        {
            UseCookies = false,
            MaxConnectionsPerServer = 2,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        _http = new HttpClient(handler) { BaseAddress = baseUri, Timeout = timeout };
    }

    public string User { get; set; } = "demo";

    public string GuestPassword { get; set; } = ChildServer.GuestPassword;

    public async Task LoginAsync(string password, CancellationToken ct)
    {
        using var request = Envelope($"<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>root</userName><password>{Escape(password)}</password></Login>");
        using var response = await _http.SendAsync(request, ct);
        await ReadAsync(response, "Login", ct);
        var setCookie = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.First() : throw new VimCallException("error:NoCookie", "Login set no cookie.");
        _cookie = setCookie.Split(';')[0].Trim();
    }

    public async Task<bool> IsReadyAsync(string vmId, CancellationToken ct)
    {
        var result = await CallAsync("RetrieveProperties", "PropertyCollector", "propertyCollector",
            $"<specSet><propSet><type>VirtualMachine</type><pathSet>guest.guestOperationsReady</pathSet></propSet><objectSet><obj type=\"VirtualMachine\">{vmId}</obj><skip>false</skip></objectSet></specSet>", ct);
        return result.Descendants(Vim + "val").FirstOrDefault()?.Value == "true";
    }

    public async Task<bool[]> ReadinessAsync(int vms, CancellationToken ct)
    {
        var objects = string.Concat(Enumerable.Range(1, vms).Select(i => $"<objectSet><obj type=\"VirtualMachine\">vm-{i}</obj><skip>false</skip></objectSet>"));
        var result = await CallAsync("RetrieveProperties", "PropertyCollector", "propertyCollector",
            $"<specSet><propSet><type>VirtualMachine</type><pathSet>guest.guestOperationsReady</pathSet></propSet>{objects}</specSet>", ct);
        var ready = new bool[vms];
        foreach (var content in result.Elements(Vim + "returnval"))
        {
            var id = content.Element(Vim + "obj")!.Value;
            var index = int.Parse(id["vm-".Length..], CultureInfo.InvariantCulture) - 1;
            ready[index] = content.Descendants(Vim + "val").FirstOrDefault()?.Value == "true";
        }

        return ready;
    }

    /// <summary>A ContainerView of every VirtualMachine below the root folder (recursive), in this caller's session.</summary>
    public async Task<string> CreateVmContainerViewAsync(string rootFolder, CancellationToken ct) =>
        (await CallAsync("CreateContainerView", "ViewManager", "ViewManager",
            $"<container type=\"Folder\">{Escape(rootFolder)}</container><type>VirtualMachine</type><recursive>true</recursive>", ct)).Element(Vim + "returnval")!.Value;

    /// <summary>RetrievePropertiesEx of <paramref name="paths"/> of every VirtualMachine in ContainerView
    /// <paramref name="viewId"/>, <paramref name="pageSize"/> objects a page, then ContinueRetrievePropertiesEx to the
    /// last page: the ids in the order received, the pages, and the bytes of the SOAP responses as sent (the body's
    /// length; the server does not compress).</summary>
    public async Task<(List<string> Ids, int Pages, long Bytes)> RetrievePagedAsync(string viewId, IReadOnlyList<string> paths, int pageSize, CancellationToken ct)
    {
        var ids = new List<string>();
        long bytes = 0;
        var pages = 0;
        var pathSet = string.Concat(paths.Select(p => $"<pathSet>{Escape(p)}</pathSet>"));
        var (body, length) = await CallWithLengthAsync("RetrievePropertiesEx", "PropertyCollector", "propertyCollector",
            $"<specSet><propSet><type>VirtualMachine</type>{pathSet}</propSet><objectSet><obj type=\"ContainerView\">{Escape(viewId)}</obj><skip>true</skip>"
            + "<selectSet xsi:type=\"TraversalSpec\"><name>traverseEntities</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet>"
            + $"<options><maxObjects>{pageSize}</maxObjects></options>", ct);
        while (true)
        {
            pages++;
            bytes += length;
            var result = body.Element(Vim + "returnval");
            ids.AddRange(result?.Elements(Vim + "objects").Select(o => o.Element(Vim + "obj")!.Value) ?? []);
            if (result?.Element(Vim + "token")?.Value is not { Length: > 0 } token)
            {
                return (ids, pages, bytes);
            }

            (body, length) = await CallWithLengthAsync("ContinueRetrievePropertiesEx", "PropertyCollector", "propertyCollector", $"<token>{Escape(token)}</token>", ct);
        }
    }

    private async Task<(XElement Body, long Length)> CallWithLengthAsync(string operation, string type, string value, string parameters, CancellationToken ct)
    {
        using var request = Envelope($"<{operation} xmlns=\"urn:vim25\"><_this type=\"{type}\">{value}</_this>{parameters}</{operation}>");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        var length = response.Content.Headers.ContentLength ?? (await response.Content.ReadAsByteArrayAsync(ct)).LongLength;
        return (await ReadAsync(response, operation, ct), length);
    }

    public Task ValidateCredentialsAsync(string vmId, CancellationToken ct) =>
        CallAsync("ValidateCredentialsInGuest", "GuestAuthManager", "guestOperationsAuthManager", Head(vmId), ct);

    public async Task<int> ListFilesAsync(string vmId, string path, CancellationToken ct)
    {
        var result = await CallAsync("ListFilesInGuest", "GuestFileManager", "guestOperationsFileManager", Head(vmId) + $"<filePath>{Escape(path)}</filePath><maxResults>1000</maxResults>", ct);
        return result.Descendants(Vim + "files").Count();
    }

    public async Task<IReadOnlyList<string>> ListNamesAsync(string vmId, string path, CancellationToken ct)
    {
        var result = await CallAsync("ListFilesInGuest", "GuestFileManager", "guestOperationsFileManager", Head(vmId) + $"<filePath>{Escape(path)}</filePath><maxResults>1000</maxResults>", ct);
        return result.Descendants(Vim + "files").Select(f => f.Element(Vim + "path")!.Value).ToList();
    }

    public Task MakeDirectoryAsync(string vmId, string path, CancellationToken ct) =>
        CallAsync("MakeDirectoryInGuest", "GuestFileManager", "guestOperationsFileManager", Head(vmId) + $"<directoryPath>{Escape(path)}</directoryPath><createParentDirectories>true</createParentDirectories>", ct);

    public Task DeleteFileAsync(string vmId, string path, CancellationToken ct) =>
        CallAsync("DeleteFileInGuest", "GuestFileManager", "guestOperationsFileManager", Head(vmId) + $"<filePath>{Escape(path)}</filePath>", ct);

    public async Task<long> StartProgramAsync(string vmId, string program, string arguments, CancellationToken ct)
    {
        var result = await CallAsync("StartProgramInGuest", "GuestProcessManager", "guestOperationsProcessManager",
            Head(vmId) + $"<spec xsi:type=\"GuestProgramSpec\"><programPath>{Escape(program)}</programPath><arguments>{Escape(arguments)}</arguments></spec>", ct);
        return long.Parse(result.Element(Vim + "returnval")!.Value, CultureInfo.InvariantCulture);
    }

    public async Task<int> ListProcessesAsync(string vmId, long pid, CancellationToken ct)
    {
        var result = await CallAsync("ListProcessesInGuest", "GuestProcessManager", "guestOperationsProcessManager",
            Head(vmId) + $"<pids>{pid.ToString(CultureInfo.InvariantCulture)}</pids>", ct);
        return result.Elements(Vim + "returnval").Count();
    }

    public async Task UploadAsync(string vmId, string path, byte[] data, CancellationToken ct)
    {
        var result = await CallAsync("InitiateFileTransferToGuest", "GuestFileManager", "guestOperationsFileManager",
            Head(vmId) + $"<guestFilePath>{Escape(path)}</guestFilePath><fileAttributes></fileAttributes><fileSize>{data.Length}</fileSize><overwrite>true</overwrite>", ct);
        using var request = new HttpRequestMessage(HttpMethod.Put, Resolve(result.Element(Vim + "returnval")!.Value)) { Content = new ByteArrayContent(data) };
        using var response = await _http.SendAsync(request, ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new VimCallException($"http:{(int)response.StatusCode}", $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }
    }

    public async Task<byte[]> DownloadAsync(string vmId, string path, CancellationToken ct)
    {
        var result = await CallAsync("InitiateFileTransferFromGuest", "GuestFileManager", "guestOperationsFileManager", Head(vmId) + $"<guestFilePath>{Escape(path)}</guestFilePath>", ct);
        var info = result.Element(Vim + "returnval")!;
        var size = long.Parse(info.Element(Vim + "size")!.Value, CultureInfo.InvariantCulture);
        using var response = await _http.GetAsync(Resolve(info.Element(Vim + "url")!.Value), ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new VimCallException($"http:{(int)response.StatusCode}", $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        if (bytes.Length != size)
        {
            throw new VimCallException("error:ShortDownload", $"GET {path}: {bytes.Length} bytes, the Initiate said {size}");
        }

        return bytes;
    }

    public void Dispose() => _http.Dispose();

    private Uri Resolve(string url) => new(string.Concat("https://", _base.Host, url.AsSpan("https://*".Length)));

    private string Head(string vmId) =>
        $"<vm type=\"VirtualMachine\">{vmId}</vm><auth xsi:type=\"NamePasswordAuthentication\"><interactiveSession>false</interactiveSession><username>{Escape(User)}</username><password>{Escape(GuestPassword)}</password></auth>";

    private async Task<XElement> CallAsync(string operation, string type, string value, string parameters, CancellationToken ct)
    {
        using var request = Envelope($"<{operation} xmlns=\"urn:vim25\"><_this type=\"{type}\">{value}</_this>{parameters}</{operation}>");
        using var response = await _http.SendAsync(request, ct);
        return await ReadAsync(response, operation, ct);
    }

    private static async Task<XElement> ReadAsync(HttpResponseMessage response, string operation, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.InternalServerError))
        {
            throw new VimCallException($"http:{(int)response.StatusCode}", $"{operation}: HTTP {(int)response.StatusCode}");
        }

        var body = XDocument.Parse(text).Root!.Elements().Single(e => e.Name.LocalName == "Body").Elements().Single();
        if (body.Name.LocalName == "Fault")
        {
            var detail = body.Element("detail")?.Elements().FirstOrDefault();
            var faultType = ((string?)detail?.Attribute(Xsi + "type"))?.Split(':')[^1] ?? detail?.Name.LocalName ?? "?";
            throw new VimCallException($"fault:{faultType}", $"{operation}: {faultType}: {body.Element("faultstring")?.Value}");
        }

        return body;
    }

    private HttpRequestMessage Envelope(string body)
    {
        var envelope = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
            + "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soapenv:Body>" + body + "</soapenv:Body></soapenv:Envelope>";
        var request = new HttpRequestMessage(HttpMethod.Post, "/sdk") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(envelope)) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "text/xml; charset=UTF-8");
        request.Headers.TryAddWithoutValidation("SOAPAction", "\"urn:vim25/8.0.3.0\"");
        if (_cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", _cookie);
        }

        return request;
    }

    private static string Escape(string value) => SecurityElement.Escape(value) ?? "";
}

/// <summary>Latencies of one kind of operation, kept whole (a run has at most a few hundred thousand).</summary>
internal sealed class Latencies
{
    private readonly List<double> _ms = [];
    private readonly Lock _gate = new();

    public void Add(TimeSpan elapsed)
    {
        lock (_gate)
        {
            _ms.Add(elapsed.TotalMilliseconds);
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _ms.Count;
            }
        }
    }

    public double Percentile(double p)
    {
        lock (_gate)
        {
            if (_ms.Count == 0)
            {
                return double.NaN;
            }

            var sorted = _ms.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
        }
    }
}
