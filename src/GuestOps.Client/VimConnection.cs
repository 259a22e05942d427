using System.Net;
using System.Net.Http.Headers;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.ServiceModel.Security;
using System.Security.Cryptography.X509Certificates;
using GuestOps.Vim;

namespace GuestOps.Client;

/// <summary>
/// A connection to a vim25 endpoint (<c>https://host/sdk</c>): one WCF channel over <see cref="IVimPort"/> whose
/// binding keeps the <c>vmware_soap_session</c> cookie after <see cref="LoginAsync"/>, the ServiceContent, and an
/// HttpClient for the one-time /guestFile URLs that InitiateFileTransfer* return. A session can be resumed from its
/// cookie (<see cref="VimConnectionOptions.SessionCookie"/>, <see cref="SessionCookie"/>), as govc keeps it between runs.
/// </summary>
public sealed class VimConnection : IAsyncDisposable
{
    /// <summary>The ServiceInstance every vim25 server has.</summary>
    public static readonly ManagedObjectReference ServiceInstanceRef = new("ServiceInstance", "ServiceInstance");

    /// <summary>The cookie that carries a vim25 session.</summary>
    public const string SessionCookieName = "vmware_soap_session";

    private const int TransferBufferSize = 256 * 1024;

    private readonly ChannelFactory<IVimPort> _factory;
    private readonly HttpClient _http;

    private VimConnection(ChannelFactory<IVimPort> factory, HttpClient http, Uri url)
    {
        _factory = factory;
        _http = http;
        Url = url;
        Port = factory.CreateChannel();
    }

    /// <summary>The SOAP endpoint.</summary>
    public Uri Url { get; }

    /// <summary>Every vim25 operation; the session cookie travels with each call once logged in.</summary>
    public IVimPort Port { get; }

    public ServiceContent Content { get; private set; } = null!;

    /// <summary>The session cookie (<c>vmware_soap_session="..."</c>) the server set or the options resumed; null
    /// without one. Pass it as <see cref="VimConnectionOptions.SessionCookie"/> to resume the session later.</summary>
    public string? SessionCookie => Cookies?.GetCookies(Url)[SessionCookieName] is { } cookie ? $"{cookie.Name}={cookie.Value}" : null;

    /// <summary>The cookies of the channel (the binding allows cookies, so WCF keeps one container per factory).</summary>
    private CookieContainer? Cookies => _factory.GetProperty<IHttpCookieContainerManager>()?.CookieContainer;

    /// <summary>Opens the channel and reads the ServiceContent (anonymous). Log in with <see cref="LoginAsync"/>.</summary>
    public static async Task<VimConnection> ConnectAsync(Uri url, VimConnectionOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new VimConnectionOptions();
        Binding binding = url.Scheme == Uri.UriSchemeHttp
            ? new BasicHttpBinding { AllowCookies = true, MaxReceivedMessageSize = options.MaxReceivedMessageSize }
            : new BasicHttpsBinding(BasicHttpsSecurityMode.Transport) { AllowCookies = true, MaxReceivedMessageSize = options.MaxReceivedMessageSize };
        binding.SendTimeout = options.Timeout;
        binding.ReceiveTimeout = options.Timeout;
        var factory = new ChannelFactory<IVimPort>(binding, new EndpointAddress(url));
        foreach (var behavior in options.EndpointBehaviors)
        {
            factory.Endpoint.EndpointBehaviors.Add(behavior);
        }

        var handler = new SocketsHttpHandler { UseCookies = false };
        if (options.ServerCertificateValidation is { } validation)
        {
            factory.Endpoint.EndpointBehaviors.Add(new HttpHandlerBehavior(validation));
            handler.SslOptions.RemoteCertificateValidationCallback = validation;
        }
        else if (options.AcceptAnyServerCertificate)
        {
            factory.Credentials.ServiceCertificate.SslCertificateAuthentication = new X509ServiceCertificateAuthentication
            {
                CertificateValidationMode = X509CertificateValidationMode.None,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }

        var connection = new VimConnection(factory, new HttpClient(handler) { Timeout = options.TransferTimeout ?? options.Timeout }, url);
        try
        {
            if (options.SessionCookie is { } cookie)
            {
                connection.Cookies?.SetCookies(url, cookie);
            }

            connection.Content = await connection.Port.RetrieveServiceContentAsync(ServiceInstanceRef).WaitAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Logs in; the channel keeps the session cookie for every later call.</summary>
    public Task<UserSession> LoginAsync(string userName, string password, CancellationToken cancellationToken = default) =>
        Port.LoginAsync(Required(Content.sessionManager, "sessionManager"), userName, password, null).WaitAsync(cancellationToken);

    /// <summary>Ends the session.</summary>
    public Task LogoutAsync(CancellationToken cancellationToken = default) =>
        Port.LogoutAsync(Required(Content.sessionManager, "sessionManager")).WaitAsync(cancellationToken);

    /// <summary>The session the cookie names (SessionManager.currentSession), or null when there is none: no cookie,
    /// or one of a session that ended (govc's check before it reuses a cached session).</summary>
    public async Task<UserSession?> CurrentSessionAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var values = await PropertiesAsync(Required(Content.sessionManager, "sessionManager"), ["currentSession"], cancellationToken).ConfigureAwait(false);
            return values.GetValueOrDefault("currentSession") as UserSession;
        }
        catch (FaultException e) when (VimFaults.Detail(e) is NotAuthenticated or ManagedObjectNotFound)
        {
            return null;
        }
    }

    /// <summary>The guest managers of the GuestOperationsManager (its authManager, fileManager and processManager).</summary>
    public async Task<GuestManagers> GuestManagersAsync(CancellationToken cancellationToken = default)
    {
        var manager = Required(Content.guestOperationsManager, "guestOperationsManager");
        var values = await PropertiesAsync(manager, ["authManager", "fileManager", "processManager"], cancellationToken).ConfigureAwait(false);
        return new GuestManagers(
            (ManagedObjectReference)values["authManager"]!,
            (ManagedObjectReference)values["fileManager"]!,
            (ManagedObjectReference)values["processManager"]!);
    }

    /// <summary>The VM with this name (through a ContainerView of the root folder), or null.</summary>
    public async Task<ManagedObjectReference?> FindVirtualMachineAsync(string name, CancellationToken cancellationToken = default) =>
        (await RetrieveAllAsync("VirtualMachine", ["name"], cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(o => o.propSet?.Any(p => p.name == "name" && Equals(p.val, name)) == true)?.obj;

    /// <summary>
    /// Some properties of every managed entity of <paramref name="type"/> below the root folder: a ContainerView of the
    /// root folder, RetrievePropertiesEx through it (ContinueRetrievePropertiesEx to the last page), the view destroyed.
    /// </summary>
    public async Task<IReadOnlyList<ObjectContent>> RetrieveAllAsync(string type, string[] paths, CancellationToken cancellationToken = default)
    {
        var view = await Port.CreateContainerViewAsync(Required(Content.viewManager, "viewManager"), Required(Content.rootFolder, "rootFolder"), [type], true)
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var collector = Required(Content.propertyCollector, "propertyCollector");
            var spec = new PropertyFilterSpec
            {
                propSet = [new PropertySpec { type = type, pathSet = paths }],
                objectSet = [new ObjectSpec { obj = view, skip = true, selectSet = [new TraversalSpec { name = "traverseEntities", type = "ContainerView", path = "view", skip = false }] }],
            };
            var all = new List<ObjectContent>();
            var result = await Port.RetrievePropertiesExAsync(collector, [spec], new RetrieveOptions()).WaitAsync(cancellationToken).ConfigureAwait(false);
            while (result is not null)
            {
                all.AddRange(result.objects ?? []);
                if (result.token is not { Length: > 0 } token)
                {
                    break;
                }

                result = await Port.ContinueRetrievePropertiesExAsync(collector, token).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return all;
        }
        finally
        {
            await Port.DestroyViewAsync(view).ConfigureAwait(false);
        }
    }

    /// <summary>The entity at an inventory path (e.g. <c>ha-datacenter/vm/demo-vm-1</c>; SearchIndex.FindByInventoryPath), or null.</summary>
    public Task<ManagedObjectReference?> FindByInventoryPathAsync(string inventoryPath, CancellationToken cancellationToken = default) =>
        Port.FindByInventoryPathAsync(Required(Content.searchIndex, "searchIndex"), inventoryPath).WaitAsync(cancellationToken);

    /// <summary>The VM with this BIOS UUID (<c>config.uuid</c>) or, with <paramref name="instanceUuid"/>, this
    /// <c>config.instanceUuid</c> (SearchIndex.FindByUuid), or null.</summary>
    public Task<ManagedObjectReference?> FindVirtualMachineByUuidAsync(string uuid, bool instanceUuid = false, CancellationToken cancellationToken = default) =>
        Port.FindByUuidAsync(Required(Content.searchIndex, "searchIndex"), null, uuid, true, instanceUuid ? true : null).WaitAsync(cancellationToken);

    /// <summary>Properties of one object (RetrievePropertiesEx); unset properties are absent.</summary>
    public async Task<IReadOnlyDictionary<string, object?>> PropertiesAsync(ManagedObjectReference obj, string[] paths, CancellationToken cancellationToken = default)
    {
        var spec = new PropertyFilterSpec
        {
            propSet = [new PropertySpec { type = obj.type, pathSet = paths }],
            objectSet = [new ObjectSpec { obj = obj }],
        };
        var result = await Port.RetrievePropertiesExAsync(Required(Content.propertyCollector, "propertyCollector"), [spec], new RetrieveOptions())
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        return (result?.objects ?? []).SelectMany(o => o.propSet ?? []).ToDictionary(p => p.name, p => p.val);
    }

    /// <summary>HTTP PUT of <paramref name="content"/> to a URL from InitiateFileTransferToGuest (200 or 201 is success).</summary>
    public async Task UploadAsync(string transferUrl, Stream content, long length, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, TransferUri(transferUrl)) { Content = new StreamContent(content) };
        request.Content.Headers.ContentLength = length;
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, HttpStatusCode.Created, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>HTTP GET of a URL from InitiateFileTransferFromGuest into <paramref name="destination"/>; returns the bytes written.</summary>
    public async Task<long> DownloadAsync(string transferUrl, Stream destination, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(TransferUri(transferUrl), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, HttpStatusCode.OK, cancellationToken).ConfigureAwait(false);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[TransferBufferSize];
        long received = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            received += read;
        }

        return received;
    }

    /// <summary>A transfer URL with its host <c>*</c> (as servers hand them out) replaced by the host and port of
    /// <see cref="Url"/>, as govmomi does, so that transfers follow the SOAP calls through port forwarding.</summary>
    public Uri TransferUri(string transferUrl)
    {
        var scheme = transferUrl.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && transferUrl.AsSpan(scheme + 3).StartsWith("*"))
        {
            var rest = transferUrl[(scheme + 4)..];
            if (rest.StartsWith(':'))
            {
                var end = rest.IndexOfAny(['/', '?']);
                rest = end < 0 ? "" : rest[end..];
            }

            return new Uri($"{transferUrl[..scheme]}://{Url.Authority}{rest}");
        }

        return new Uri(transferUrl);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            ((IClientChannel)Port).Abort();
            await Task.Factory.FromAsync(_factory.BeginClose, _factory.EndClose, null).ConfigureAwait(false);
        }
        catch (CommunicationException)
        {
            _factory.Abort();
        }
        catch (TimeoutException)
        {
            _factory.Abort();
        }
    }

    /// <summary>Throws <see cref="HttpRequestException"/> (with the status code) unless the answer is 200 or <paramref name="alsoSuccess"/>;
    /// its message is <c>HTTP 404 Not Found: </c> and the start of the server's text.</summary>
    private static async Task EnsureSuccessAsync(HttpResponseMessage response, HttpStatusCode alsoSuccess, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.OK && response.StatusCode != alsoSuccess)
        {
            var text = (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).ReplaceLineEndings(" ").Trim();
            text = text.Length > 200 ? text[..200] : text;
            throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}{(text.Length > 0 ? ": " + text : "")}", null, response.StatusCode);
        }
    }

    private static ManagedObjectReference Required(ManagedObjectReference? reference, string name) =>
        reference ?? throw new InvalidOperationException($"The server's ServiceContent has no {name}.");
}

/// <summary>The three guest managers of a GuestOperationsManager.</summary>
public sealed record GuestManagers(ManagedObjectReference AuthManager, ManagedObjectReference FileManager, ManagedObjectReference ProcessManager);
