using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// A small raw SOAP client for envelope-level tests: HttpClient over HTTP/1.1, certificate validation off (the
/// server's certificate is self-signed) but remembered, no cookie container (the session cookie is handled by hand,
/// as each real client does it), bounded timeouts, and every answer recorded in a <see cref="ResponseLog"/>.
/// </summary>
public sealed class SoapClient : IDisposable
{
    public const string CookieName = "vmware_soap_session";

    private readonly HttpClient _http;
    private readonly ResponseLog _log;

    public SoapClient(ServerProcess server, ResponseLog log, TimeSpan? timeout = null)
    {
        Server = server;
        _log = log;
        var handler = new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (certificate is not null)
            {
                ServerCertificate ??= X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            }

            return true;
        };
        _http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = server.BaseUri,
            Timeout = timeout ?? TimeSpan.FromSeconds(20),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public ServerProcess Server { get; }

    /// <summary>The Cookie header sent with each request (null: none).</summary>
    public string? Cookie { get; set; }

    /// <summary>The session key of the last successful Login.</summary>
    public string? SessionKey { get; private set; }

    /// <summary>SOAPAction header value (null: none). pyVmomi style by default: quoted.</summary>
    public string? SoapAction { get; set; } = "\"urn:vim25/8.0.3.0\"";

    public X509Certificate2? ServerCertificate { get; private set; }

    /// <summary>POSTs an envelope to <paramref name="path"/>; <paramref name="configure"/> may change the request.</summary>
    public async Task<SoapResponse> PostAsync(string envelope, string description, Action<HttpRequestMessage>? configure = null, string path = "/sdk")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(envelope)),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "text/xml; charset=UTF-8");
        if (SoapAction is not null)
        {
            request.Headers.TryAddWithoutValidation("SOAPAction", SoapAction);
        }

        if (Cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", Cookie);
        }

        configure?.Invoke(request);
        return await SendAsync(request, description, expectSoap: true);
    }

    /// <summary>Calls <paramref name="operation"/> on <paramref name="this"/> with the given parameter elements.</summary>
    public Task<SoapResponse> CallAsync(string operation, Moref @this, string parameters = "") =>
        PostAsync(Soap.Call(operation, @this, parameters), $"{operation} on {@this}");

    /// <summary>GET of a path (version documents, WSDL, or the SOAP endpoint itself).</summary>
    public async Task<SoapResponse> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendAsync(request, $"GET {path}", expectSoap: false);
    }

    /// <summary>Logs in; on success keeps the cookie (name=value as the server set it) for later calls.</summary>
    public async Task<SoapResponse> LoginAsync(string user = "root", string? password = null)
    {
        password ??= Server.RootPassword ?? throw new InvalidOperationException("The server's root password is not known to the test.");
        var response = await CallAsync("Login", Moref.SessionManager, Soap.Element("userName", user) + Soap.Element("password", password));
        if (response.StatusCode == 200)
        {
            var setCookie = response.SetCookie
                ?? throw new AssertFailedException($"Login returned no Set-Cookie header.{Environment.NewLine}{response}");
            var pair = setCookie.Split(';')[0].Trim();
            if (!pair.StartsWith(CookieName + "=", StringComparison.Ordinal))
            {
                throw new AssertFailedException($"Login set an unexpected cookie: {setCookie}");
            }

            Cookie = pair;
            SessionKey = pair[(CookieName.Length + 1)..].Trim('"');
        }

        return response;
    }

    /// <summary>Logs in and asserts success.</summary>
    public async Task<string> LoginOkAsync(string user = "root", string? password = null)
    {
        var response = await LoginAsync(user, password);
        var session = response.ReturnValues("Login").Single();
        return (string?)session.Element(Soap.Vim + "key") ?? throw new AssertFailedException("Login returned no session key.");
    }

    public async Task<SoapResponse> SendAsync(HttpRequestMessage request, string description, bool expectSoap)
    {
        var clock = Stopwatch.StartNew();
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        var body = await response.Content.ReadAsStringAsync();
        clock.Stop();
        var headers = response.Headers.Concat(response.Content.Headers)
            .SelectMany(h => h.Value.Select(v => (h.Key, v)))
            .ToList();
        var result = new SoapResponse(description, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), body, headers, clock.Elapsed);
        _log.Add(result, expectSoap && result.StatusCode is 200 or 500);
        return result;
    }

    public void Dispose() => _http.Dispose();
}
