using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GuestOps.Channel.Transport;

namespace GuestOps.Tools.Enrollment;

/// <summary>
/// TCP + mutual TLS to the host agent with the certificate, key and CA from files (as <c>guestops-tools enroll</c>
/// writes them), re-read before a connection attempt when they changed: a worker keeps running across a
/// re-enrollment (the host then drops the old certificate's connection and the worker reconnects with the new one).
/// A half-written pair (key and certificate not matching yet) keeps the previous one until the next attempt.
/// </summary>
internal sealed class CertificateFilesConnector : IChannelConnector
{
    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly string _caPath;
    private readonly string? _serverName;
    private TcpTlsChannelConnector _current;
    private (DateTime, DateTime, DateTime) _stamp;

    /// <exception cref="CryptographicException">The files are not a matching certificate and key, or the CA is unreadable.</exception>
    public CertificateFilesConnector(ChannelEndpoint endpoint, string certificatePath, string keyPath, string caPath, string? serverName)
    {
        Endpoint = endpoint;
        _certificatePath = certificatePath;
        _keyPath = keyPath;
        _caPath = caPath;
        _serverName = serverName;
        _stamp = Stamp();
        _current = Load();
    }

    public ChannelEndpoint Endpoint { get; }

    public ValueTask<ChannelTransportConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var stamp = Stamp();
        if (stamp != _stamp)
        {
            try
            {
                _current = Load();
                _stamp = stamp;
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                // keep the previous certificate; the files may be mid-update
            }
        }

        return _current.ConnectAsync(cancellationToken);
    }

    private TcpTlsChannelConnector Load()
    {
        var certificate = X509Certificate2.CreateFromPemFile(_certificatePath, _keyPath);
        var ca = X509CertificateLoader.LoadCertificateFromFile(_caPath);
        return new TcpTlsChannelConnector(Endpoint.Host!, Endpoint.Port, certificate, ChannelTls.TrustOnly(ca, requireName: true), _serverName);
    }

    private (DateTime, DateTime, DateTime) Stamp() =>
        (File.GetLastWriteTimeUtc(_certificatePath), File.GetLastWriteTimeUtc(_keyPath), File.GetLastWriteTimeUtc(_caPath));
}
