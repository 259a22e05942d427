using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace GuestOps.Channel.Transport;

/// <summary>Certificate checks for the TCP+mTLS transport: both ends trust one private root (the host agent's CA).</summary>
public static class ChannelTls
{
    /// <summary>
    /// A validation callback accepting a peer certificate only if it chains to <paramref name="trustedRoot"/> (system
    /// roots are not trusted; revocation is not checked) and, when <paramref name="requireName"/> is set, the TLS
    /// layer found no name mismatch.
    /// </summary>
    public static RemoteCertificateValidationCallback TrustOnly(X509Certificate2 trustedRoot, bool requireName = false)
    {
        ArgumentNullException.ThrowIfNull(trustedRoot);
        return (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            {
                return false;
            }

            if (requireName && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(trustedRoot);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return chain.Build(leaf);
        };
    }
}

/// <summary>
/// Listens on TCP and requires TLS with a client certificate (mutual TLS). Each accepted worker's verified
/// certificate is returned in <see cref="ChannelTransportConnection.PeerCertificate"/> so the host can bind it to a
/// VM. The TLS handshake runs inside <see cref="AcceptAsync"/> (bounded by the handshake timeout); a failed handshake
/// is skipped and the next connection accepted.
/// </summary>
public sealed class TcpTlsChannelListener : IChannelListener
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _serverCertificate;
    private readonly RemoteCertificateValidationCallback _validateClient;
    private readonly TimeSpan _handshakeTimeout;

    private TcpTlsChannelListener(TcpListener listener, X509Certificate2 serverCertificate, RemoteCertificateValidationCallback validateClient, TimeSpan handshakeTimeout)
    {
        _listener = listener;
        _serverCertificate = serverCertificate;
        _validateClient = validateClient;
        _handshakeTimeout = handshakeTimeout;
        var ep = (IPEndPoint)listener.LocalEndpoint;
        Endpoint = ChannelEndpoint.Tcp(ep.Address.ToString(), ep.Port);
    }

    /// <summary>The bound endpoint (with the actual port when 0 was asked for).</summary>
    public ChannelEndpoint Endpoint { get; }

    /// <param name="endPoint">Where to listen (use loopback unless workers are on other machines).</param>
    /// <param name="serverCertificate">The host's certificate, with private key.</param>
    /// <param name="validateClient">Accepts or rejects a worker's certificate, e.g. <see cref="ChannelTls.TrustOnly"/>.</param>
    /// <param name="handshakeTimeout">How long one TLS handshake may take (default 10 s).</param>
    public static TcpTlsChannelListener Start(IPEndPoint endPoint, X509Certificate2 serverCertificate, RemoteCertificateValidationCallback validateClient, TimeSpan? handshakeTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(serverCertificate);
        ArgumentNullException.ThrowIfNull(validateClient);
        if (!serverCertificate.HasPrivateKey)
        {
            throw new ArgumentException("The server certificate needs its private key.", nameof(serverCertificate));
        }

        var listener = new TcpListener(endPoint);
        listener.Start();
        return new TcpTlsChannelListener(listener, serverCertificate, validateClient, handshakeTimeout ?? TimeSpan.FromSeconds(10));
    }

    public async ValueTask<ChannelTransportConnection> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var client = await _listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            client.NoDelay = true;
            var remote = client.Client.RemoteEndPoint?.ToString() ?? "?";
            var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_handshakeTimeout);
            try
            {
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificate = _serverCertificate,
                        ClientCertificateRequired = true,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        RemoteCertificateValidationCallback = _validateClient,
                    },
                    timeout.Token).ConfigureAwait(false);
                var peer = ssl.RemoteCertificate is null ? null : new X509Certificate2(ssl.RemoteCertificate);
                return new ChannelTransportConnection(ssl, "tcp:" + remote, peer);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
                client.Dispose();
            }
            catch
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
                client.Dispose();
                throw;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Connects a worker to its host over TCP with mutual TLS.</summary>
public sealed class TcpTlsChannelConnector : IChannelConnector
{
    private readonly X509Certificate2 _clientCertificate;
    private readonly RemoteCertificateValidationCallback _validateServer;
    private readonly string _targetHost;

    /// <param name="host">Host agent address.</param>
    /// <param name="port">Host agent port.</param>
    /// <param name="clientCertificate">This worker's certificate, with private key (issued at enrollment).</param>
    /// <param name="validateServer">Accepts the host's certificate, e.g. <see cref="ChannelTls.TrustOnly"/> with the enrollment CA.</param>
    /// <param name="targetHost">The name expected in the host's certificate (default: <paramref name="host"/>).</param>
    public TcpTlsChannelConnector(string host, int port, X509Certificate2 clientCertificate, RemoteCertificateValidationCallback validateServer, string? targetHost = null)
    {
        ArgumentNullException.ThrowIfNull(clientCertificate);
        ArgumentNullException.ThrowIfNull(validateServer);
        Endpoint = ChannelEndpoint.Tcp(host, port);
        _clientCertificate = clientCertificate;
        _validateServer = validateServer;
        _targetHost = targetHost ?? host;
    }

    public ChannelEndpoint Endpoint { get; }

    public async ValueTask<ChannelTransportConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var client = new TcpClient { NoDelay = true };
        SslStream? ssl = null;
        try
        {
            await client.ConnectAsync(Endpoint.Host!, Endpoint.Port, cancellationToken).ConfigureAwait(false);
            ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = _targetHost,
                    ClientCertificates = new X509CertificateCollection { _clientCertificate },
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = _validateServer,
                },
                cancellationToken).ConfigureAwait(false);
            var peer = ssl.RemoteCertificate is null ? null : new X509Certificate2(ssl.RemoteCertificate);
            return new ChannelTransportConnection(ssl, Endpoint.ToString(), peer);
        }
        catch
        {
            if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }

            client.Dispose();
            throw;
        }
    }
}
