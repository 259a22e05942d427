using System.Net;
using System.Net.Http.Headers;
using System.ServiceModel;
using System.ServiceModel.Security;
using System.Text.RegularExpressions;
using GuestOps.Vim;

namespace GuestOps.Samples;

/// <summary>
/// What every sample does first, over WCF: log in (the binding keeps the session cookie), find the VM by name through a
/// ContainerView, read the guest managers from GuestOperationsManager, and build the guest credentials.
/// </summary>
public sealed class SampleConnection : IAsyncDisposable
{
    private static readonly ManagedObjectReference ServiceInstance = new("ServiceInstance", "ServiceInstance");

    private readonly ChannelFactory<IVimPort> _factory;
    private readonly HttpClient _http;
    private readonly Uri _endpoint;

    private SampleConnection(ChannelFactory<IVimPort> factory, IVimPort port, HttpClient http, Uri endpoint)
    {
        _factory = factory;
        Port = port;
        _http = http;
        _endpoint = endpoint;
    }

    public IVimPort Port { get; }

    public ServiceContent Content { get; private set; } = null!;

    public ManagedObjectReference Vm { get; private set; } = null!;

    public ManagedObjectReference FileManager { get; private set; } = null!;

    public ManagedObjectReference ProcessManager { get; private set; } = null!;

    public NamePasswordAuthentication Auth { get; private set; } = null!;

    public static async Task<SampleConnection> OpenAsync(SampleOptions options)
    {
        var endpoint = new Uri(options.Required("url"));
        var insecure = options.Flag("insecure");
        // AllowCookies keeps vmware_soap_session for the channel's later calls; plain http only for test doubles.
        System.ServiceModel.Channels.Binding binding = endpoint.Scheme == Uri.UriSchemeHttp
            ? new BasicHttpBinding { AllowCookies = true, MaxReceivedMessageSize = 64 * 1024 * 1024 }
            : new BasicHttpsBinding(BasicHttpsSecurityMode.Transport) { AllowCookies = true, MaxReceivedMessageSize = 64 * 1024 * 1024 };
        var factory = new ChannelFactory<IVimPort>(binding, new EndpointAddress(endpoint));
        if (insecure)
        {
            factory.Credentials.ServiceCertificate.SslCertificateAuthentication = new X509ServiceCertificateAuthentication
            {
                CertificateValidationMode = X509CertificateValidationMode.None,
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            };
        }

        var handler = new SocketsHttpHandler { UseCookies = false };
        if (insecure)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }

        var connection = new SampleConnection(factory, factory.CreateChannel(), new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(10) }, endpoint);
        try
        {
            await connection.LoginAsync(options);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task LoginAsync(SampleOptions options)
    {
        Content = await Port.RetrieveServiceContentAsync(ServiceInstance);
        await Port.LoginAsync(Content.sessionManager!, options.Required("username"), options.Required("password"), null);
        Vm = await FindVmAsync(options.Required("vmname"));
        FileManager = (ManagedObjectReference)await PropertyAsync(Content.guestOperationsManager!, "fileManager");
        ProcessManager = (ManagedObjectReference)await PropertyAsync(Content.guestOperationsManager!, "processManager");
        Auth = new NamePasswordAuthentication { username = options.Required("guestusername"), password = options.Required("guestpassword") };
    }

    /// <summary>One property of one object (RetrievePropertiesEx).</summary>
    public async Task<object> PropertyAsync(ManagedObjectReference obj, string path)
    {
        var spec = new PropertyFilterSpec
        {
            propSet = [new PropertySpec { type = obj.type, pathSet = [path] }],
            objectSet = [new ObjectSpec { obj = obj }],
        };
        var result = (await Port.RetrievePropertiesExAsync(new RetrievePropertiesExRequest { _this = Content.propertyCollector, specSet = [spec] })).returnval;
        return result?.objects?.SelectMany(o => o.propSet ?? []).FirstOrDefault()?.val
            ?? throw new InvalidOperationException($"{obj} has no {path}");
    }

    private async Task<ManagedObjectReference> FindVmAsync(string name)
    {
        var view = (await Port.CreateContainerViewAsync(new CreateContainerViewRequest { _this = Content.viewManager!, container = Content.rootFolder, type = ["VirtualMachine"], recursive = true })).returnval;
        try
        {
            var spec = new PropertyFilterSpec
            {
                propSet = [new PropertySpec { type = "VirtualMachine", pathSet = ["name"] }],
                objectSet =
                [
                    new ObjectSpec
                    {
                        obj = view,
                        skip = true,
                        selectSet = [new TraversalSpec { name = "traverseEntities", type = "ContainerView", path = "view", skip = false }],
                    },
                ],
            };
            var result = (await Port.RetrievePropertiesExAsync(new RetrievePropertiesExRequest { _this = Content.propertyCollector, specSet = [spec] })).returnval;
            while (result is not null)
            {
                var match = result.objects?.FirstOrDefault(o => o.propSet?.Any(p => p.val as string == name) == true);
                if (match is not null)
                {
                    return match.obj;
                }

                if (string.IsNullOrEmpty(result.token))
                {
                    break;
                }

                result = await Port.ContinueRetrievePropertiesExAsync(Content.propertyCollector, result.token);
            }
        }
        finally
        {
            await Port.DestroyViewAsync(view);
        }

        throw new InvalidOperationException($"no VM is named {name}");
    }

    /// <summary>The transfer URL with its "*" host replaced by the host this sample called.</summary>
    public Uri TransferUrl(string url) => new(Regex.Replace(url, @"^(https?)://\*", "$1://" + _endpoint.Host));

    public async Task PutAsync(string url, string localPath)
    {
        await using var file = File.OpenRead(localPath);
        using var content = new StreamContent(file);
        content.Headers.ContentLength = file.Length;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PutAsync(TransferUrl(url), content);
        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Created))
        {
            throw new HttpRequestException($"upload failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }

    public async Task<long> GetAsync(string url, string localPath)
    {
        using var response = await _http.GetAsync(TransferUrl(url), HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"download failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        await using var file = File.Create(localPath);
        await response.Content.CopyToAsync(file);
        return file.Length;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Content?.sessionManager is { } sessionManager)
            {
                await Port.LogoutAsync(sessionManager);
            }

            ((IClientChannel)Port).Close();
            _factory.Close();
        }
        catch (Exception e) when (e is CommunicationException or TimeoutException or FaultException)
        {
            ((IClientChannel)Port).Abort();
            _factory.Abort();
        }

        _http.Dispose();
    }
}
