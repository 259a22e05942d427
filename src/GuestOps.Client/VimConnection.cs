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
/// HttpClient for the one-time /guestFile URLs that InitiateFileTransfer* return.
/// </summary>
public sealed class VimConnection : IAsyncDisposable
{
    /// <summary>The ServiceInstance every vim25 server has.</summary>
    public static readonly ManagedObjectReference ServiceInstanceRef = new("ServiceInstance", "ServiceInstance");

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
        var handler = new SocketsHttpHandler { UseCookies = false };
        if (options.AcceptAnyServerCertificate)
        {
            factory.Credentials.ServiceCertificate.SslCertificateAuthentication = new X509ServiceCertificateAuthentication
            {
                CertificateValidationMode = X509CertificateValidationMode.None,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }

        var connection = new VimConnection(factory, new HttpClient(handler) { Timeout = options.Timeout }, url);
        try
        {
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
    public async Task<ManagedObjectReference?> FindVirtualMachineAsync(string name, CancellationToken cancellationToken = default)
    {
        var view = await Port.CreateContainerViewAsync(Required(Content.viewManager, "viewManager"), Required(Content.rootFolder, "rootFolder"), ["VirtualMachine"], true)
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var spec = new PropertyFilterSpec
            {
                propSet = [new PropertySpec { type = "VirtualMachine", pathSet = ["name"] }],
                objectSet = [new ObjectSpec { obj = view, skip = true, selectSet = [new TraversalSpec { name = "traverseEntities", type = "ContainerView", path = "view", skip = false }] }],
            };
            var result = await Port.RetrievePropertiesExAsync(Required(Content.propertyCollector, "propertyCollector"), [spec], new RetrieveOptions())
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            return result?.objects?.FirstOrDefault(o => o.propSet?.Any(p => p.name == "name" && Equals(p.val, name)) == true)?.obj;
        }
        finally
        {
            await Port.DestroyViewAsync(view).ConfigureAwait(false);
        }
    }

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

    /// <summary>HTTP PUT of <paramref name="content"/> to a URL from InitiateFileTransferToGuest.</summary>
    public async Task UploadAsync(string transferUrl, Stream content, long length, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, TransferUri(transferUrl)) { Content = new StreamContent(content) };
        request.Content.Headers.ContentLength = length;
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>HTTP GET of a URL from InitiateFileTransferFromGuest into <paramref name="destination"/>.</summary>
    public async Task DownloadAsync(string transferUrl, Stream destination, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(TransferUri(transferUrl), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        await response.Content.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A transfer URL with its host <c>*</c> (as servers hand them out) replaced by the host of <see cref="Url"/>.</summary>
    public Uri TransferUri(string transferUrl)
    {
        var builder = new UriBuilder(transferUrl.Replace("://*", "://placeholder", StringComparison.Ordinal));
        if (builder.Host == "placeholder")
        {
            builder.Host = Url.Host;
        }

        return builder.Uri;
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

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new HttpRequestException($"The file transfer failed: HTTP {(int)response.StatusCode} {body}", null, response.StatusCode);
        }
    }

    private static ManagedObjectReference Required(ManagedObjectReference? reference, string name) =>
        reference ?? throw new InvalidOperationException($"The server's ServiceContent has no {name}.");
}

/// <summary>The three guest managers of a GuestOperationsManager.</summary>
public sealed record GuestManagers(ManagedObjectReference AuthManager, ManagedObjectReference FileManager, ManagedObjectReference ProcessManager);
