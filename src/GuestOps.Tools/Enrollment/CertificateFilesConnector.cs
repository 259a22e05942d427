using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GuestOps.Channel.Transport;

namespace GuestOps.Tools.Enrollment;

/// <summary>
/// TCP + mutual TLS to a host agent with the certificate, key and CA from files (as <c>guestops-tools enroll</c>
/// writes them), re-read before a connection attempt when they changed: a worker keeps running across a
/// re-enrollment (the host then drops the old certificate's connection and the worker reconnects with the new one).
/// A half-written pair (key and certificate not matching yet) keeps the previous one until the next attempt.
/// With several endpoints (the host agents of a cluster that have the VM configured), an attempt starts at the one that
/// last connected and tries each of the others in turn when it cannot be reached or refuses the certificate, so a
/// worker whose host agent is lost moves to another one and then stays there.
/// </summary>
internal sealed class CertificateFilesConnector : IChannelConnector
{
    private readonly IReadOnlyList<ChannelEndpoint> _endpoints;
    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly string _caPath;
    private readonly string? _serverName;
    private TcpTlsChannelConnector[] _current;
    private (DateTime, DateTime, DateTime) _stamp;
    private volatile int _next;

    /// <exception cref="CryptographicException">The files are not a matching certificate and key, or the CA is unreadable.</exception>
    public CertificateFilesConnector(IReadOnlyList<ChannelEndpoint> endpoints, string certificatePath, string keyPath, string caPath, string? serverName)
    {
        ArgumentOutOfRangeException.ThrowIfZero(endpoints.Count);
        _endpoints = endpoints;
        _certificatePath = certificatePath;
        _keyPath = keyPath;
        _caPath = caPath;
        _serverName = serverName;
        _stamp = Stamp();
        _current = Load();
    }

    /// <summary>The endpoint the next attempt starts at: the one that last connected.</summary>
    public ChannelEndpoint Endpoint => _endpoints[_next];

    public async ValueTask<ChannelTransportConnection> ConnectAsync(CancellationToken cancellationToken)
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

        var connectors = _current;
        var first = _next;
        for (var i = 0; ; i++)
        {
            var index = (first + i) % connectors.Length;
            try
            {
                var connection = await connectors[index].ConnectAsync(cancellationToken).ConfigureAwait(false);
                _next = index;
                return connection;
            }
            catch (Exception) when (i + 1 < connectors.Length && !cancellationToken.IsCancellationRequested)
            {
                // this host agent is unreachable or refuses us: try the next one now; the last failure is the caller's
            }
        }
    }

    private TcpTlsChannelConnector[] Load()
    {
        var certificate = X509Certificate2.CreateFromPemFile(_certificatePath, _keyPath);
        var ca = X509CertificateLoader.LoadCertificateFromFile(_caPath);
        var trust = ChannelTls.TrustOnly(ca, requireName: true);
        return _endpoints.Select(e => new TcpTlsChannelConnector(e.Host!, e.Port, certificate, trust, _serverName)).ToArray();
    }

    private (DateTime, DateTime, DateTime) Stamp() =>
        (File.GetLastWriteTimeUtc(_certificatePath), File.GetLastWriteTimeUtc(_keyPath), File.GetLastWriteTimeUtc(_caPath));
}
