using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using GuestOps.Channel.Enrollment;
using GuestOps.Channel.Transport;
using GuestOps.Host.SharedState;
using Microsoft.Extensions.Logging;

namespace GuestOps.Host.Enrollment;

public sealed record ExternalWorkerGatewayOptions
{
    /// <summary>Where the worker listener binds (<c>GuestOps:WorkerListenUrl</c>).</summary>
    public required IPEndPoint ListenEndPoint { get; init; }

    /// <summary>The server's state directory; the CA and the store live in its <c>enrollment</c> folder.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Names (host names, IPs) the listener's certificate carries: those workers connect to.</summary>
    public IReadOnlyList<string> ServerNames { get; init; } = ["localhost", "127.0.0.1", "::1"];

    /// <summary>Validity of the per-VM worker certificates.</summary>
    public TimeSpan WorkerCertificateLifetime { get; init; } = TimeSpan.FromDays(365);

    /// <summary>How long a TLS handshake plus, for enrollment, the one request may take.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections still in their handshake or enrollment at once; more are closed at once.</summary>
    public int MaxPendingHandshakes { get; init; } = 64;

    /// <summary>How often connected workers are checked against the store (revocation, expiry).</summary>
    public TimeSpan RecheckInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>In a cluster: the CA and the records every host agent shares, in place of the state directory's
    /// (which only seed a cluster that has none).</summary>
    public IStateDocument<EnrollmentDocument>? Shared { get; init; }
}

/// <summary>
/// The worker listener of the <c>external</c> provider: one TCP port, TLS, where workers in real VMs enroll and
/// connect. The host agent is a small CA (<see cref="CertificateAuthority"/>); the listener's certificate is issued by
/// it at start. A connection is one of:
/// <list type="bullet">
/// <item>with a client certificate that this CA issued to an enrolled VM (chain, client-auth usage, VM id in the SAN,
/// thumbprint recorded for that VM in the <see cref="EnrollmentStore"/>, not revoked or expired, and the VM is external
/// here): handed to that VM's dispatcher through the listener <see cref="Register"/> returned; from then on it is a
/// channel like the unix-socket case. Any other certificate fails the TLS handshake.</item>
/// <item>without a certificate: one enrollment exchange (<see cref="EnrollmentProtocol"/>) and closed. Nothing else.</item>
/// </list>
/// Connected workers are re-checked every <see cref="ExternalWorkerGatewayOptions.RecheckInterval"/>: a revoked,
/// replaced or expired certificate loses its connection.
/// </summary>
public sealed partial class ExternalWorkerGateway : IAsyncDisposable
{
    private readonly ExternalWorkerGatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RoutedChannelListener> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ActiveWorker, byte> _active = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _pending;
    private volatile CertificateAuthority? _ca;
    private EnrollmentStore? _store;
    private TcpListener? _listener;
    private volatile SslStreamCertificateContext? _serverCertificate;
    private DateTimeOffset _serverCertificateRenewAt;
    private Task _acceptLoop = Task.CompletedTask;
    private Task _recheckLoop = Task.CompletedTask;

    public ExternalWorkerGateway(ExternalWorkerGatewayOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _options = options;
        _time = time;
        _logger = loggerFactory.CreateLogger<ExternalWorkerGateway>();
        _pending = new SemaphoreSlim(options.MaxPendingHandshakes, options.MaxPendingHandshakes);
    }

    /// <summary>The bound endpoint (actual port when 0 was configured); null before <see cref="Start"/>.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    public CertificateAuthority CertificateAuthority => _ca ?? throw new InvalidOperationException("The gateway is not started.");

    /// <summary>Creates or loads the CA, issues the listener certificate and starts listening.</summary>
    public void Start()
    {
        var directory = EnrollmentStore.DirectoryOf(_options.StateDirectory);
        if (_options.Shared is { } shared)
        {
            _ca = CertificateAuthority.FromPem(shared.Current.Value.CaCertificate, shared.Current.Value.CaKey);
            _store = new EnrollmentStore(shared, _time);
        }
        else
        {
            _ca = CertificateAuthority.LoadOrCreate(directory, _time);
            _store = new EnrollmentStore(directory, _time);
        }

        RenewServerCertificate();
        var listener = new TcpListener(_options.ListenEndPoint);
        if (_options.ListenEndPoint.AddressFamily == AddressFamily.InterNetworkV6 && _options.ListenEndPoint.Address.Equals(IPAddress.IPv6Any))
        {
            listener.Server.DualMode = true;
        }

        listener.Start(backlog: 128);
        _listener = listener;
        LocalEndPoint = (IPEndPoint)listener.LocalEndpoint;
        LogListening(_logger, LocalEndPoint.ToString(), _ca.Thumbprint, string.Join(", ", _options.ServerNames));
        _acceptLoop = AcceptLoopAsync(_stopping.Token);
        _recheckLoop = RecheckLoopAsync(_stopping.Token);
    }

    /// <summary>The listener a VM's dispatcher accepts its worker from: connections whose certificate binds
    /// <paramref name="vmId"/>. Only registered VMs can enroll or connect.</summary>
    public IChannelListener Register(string vmId)
    {
        var route = new RoutedChannelListener(this, vmId);
        if (!_routes.TryAdd(vmId, route))
        {
            throw new InvalidOperationException($"VM {vmId} is already registered with the worker listener.");
        }

        return route;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Stop();
        _listener?.Dispose();
        try
        {
            await Task.WhenAll(_acceptLoop, _recheckLoop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var route in _routes.Values)
        {
            await route.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var worker in _active.Keys)
        {
            worker.Close();
        }

        _ca?.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptSocketAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is SocketException or IOException or InvalidOperationException)
            {
                LogAcceptFailed(_logger, e);
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, stopping).ConfigureAwait(false);
                continue;
            }

            if (!_pending.Wait(0))
            {
                LogTooManyHandshakes(_logger, socket.RemoteEndPoint?.ToString() ?? "?");
                socket.Dispose();
                continue;
            }

            _ = Task.Run(() => HandleAsync(socket, stopping), CancellationToken.None);
        }
    }

    private async Task HandleAsync(Socket socket, CancellationToken stopping)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        SslStream? ssl = null;
        var handedOver = false;
        try
        {
            socket.NoDelay = true;
            ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(_options.HandshakeTimeout);
            Admission? admitted = null;
            string? refusal = null;
            try
            {
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = _serverCertificate,
                        ClientCertificateRequired = true,
                        // Every connection proves its certificate afresh: a resumed session would skip the check below.
                        AllowTlsResume = false,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                        {
                            if (certificate is null)
                            {
                                return true; // no certificate: enrollment only
                            }

                            admitted = Admit(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), out refusal);
                            return admitted is not null;
                        },
                    },
                    timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
            {
                if (refusal is not null)
                {
                    LogRefused(_logger, remote, refusal);
                }
                else if (!stopping.IsCancellationRequested)
                {
                    LogHandshakeFailed(_logger, remote, e.Message);
                }

                return;
            }

            if (ssl.RemoteCertificate is null)
            {
                await EnrollAsync(ssl, remote, timeout.Token).ConfigureAwait(false);
                return;
            }

            // Belt and braces: decide on the certificate the session ended up with, whatever the callback saw.
            admitted ??= Admit(ssl.RemoteCertificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate.GetRawCertData()), out refusal);
            if (admitted is null || !_routes.TryGetValue(admitted.VmId, out var route))
            {
                LogRefused(_logger, remote, refusal ?? "the certificate admits no VM here");
                return;
            }

            var worker = new ActiveWorker(admitted.VmId, admitted.Thumbprint, remote, ssl, this);
            _active[worker] = 0;
            if (route.Offer(new ChannelTransportConnection(worker.Stream, $"tcp:{remote} (VM {admitted.VmId})", admitted.Certificate)))
            {
                handedOver = true;
                LogAdmitted(_logger, remote, admitted.VmId, admitted.Thumbprint);
            }
            else
            {
                worker.Close();
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            if (!stopping.IsCancellationRequested)
            {
                LogHandshakeFailed(_logger, remote, e.Message);
            }
        }
        catch (Exception e)
        {
            // Whatever went wrong with one connection must not escape this fire-and-forget task.
            LogConnectionFailed(_logger, remote, e);
        }
        finally
        {
            if (!handedOver && ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }
            else if (ssl is null)
            {
                socket.Dispose();
            }

            _pending.Release();
        }
    }

    /// <summary>Decides whether a presented certificate may connect, and as which VM.</summary>
    private Admission? Admit(X509Certificate2 certificate, out string? refusal)
    {
        var thumbprint = CertificateAuthority.ThumbprintOf(certificate);
        if (CertificateAuthority.VerifyWorkerCertificate(certificate, _time.GetUtcNow(), out var reason) is not { } vmId)
        {
            refusal = $"certificate {Short(thumbprint)} ({certificate.Subject}): {reason}";
            return null;
        }

        if (!_routes.ContainsKey(vmId))
        {
            refusal = $"certificate {Short(thumbprint)}: VM {vmId} is not an external VM of this host agent";
            return null;
        }

        try
        {
            if (_store!.Admitting(vmId, thumbprint) is null)
            {
                refusal = $"certificate {Short(thumbprint)} is not the enrolled certificate of VM {vmId} (unknown, replaced, revoked or expired)";
                return null;
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            refusal = $"the enrollment store cannot be read: {e.Message}";
            return null;
        }

        refusal = null;
        return new Admission(vmId, thumbprint, X509CertificateLoader.LoadCertificate(certificate.RawDataMemory.Span));
    }

    private async Task EnrollAsync(SslStream ssl, string remote, CancellationToken cancellationToken)
    {
        EnrollmentRequest? request;
        try
        {
            request = await EnrollmentProtocol.ReadAsync(ssl, EnrollmentJsonContext.Default.EnrollmentRequest, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            request = null;
        }

        if (request is null)
        {
            LogNotEnrollment(_logger, remote);
            return;
        }

        var response = await EnrollAsync(request, remote, cancellationToken).ConfigureAwait(false);
        await EnrollmentProtocol.WriteAsync(ssl, response, EnrollmentJsonContext.Default.EnrollmentResponse, cancellationToken).ConfigureAwait(false);
        try
        {
            await ssl.ShutdownAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
    }

    private async Task<EnrollmentResponse> EnrollAsync(EnrollmentRequest request, string remote, CancellationToken cancellationToken)
    {
        try
        {
            if (request.Version != EnrollmentProtocol.Version || string.IsNullOrEmpty(request.VmId) || string.IsNullOrEmpty(request.Token) || string.IsNullOrEmpty(request.Csr))
            {
                throw new EnrollmentException(EnrollmentFailure.BadRequest, $"Expected an enrollment request of version {EnrollmentProtocol.Version} with vmId, token and csr.");
            }

            if (!_routes.ContainsKey(request.VmId))
            {
                throw new EnrollmentException(EnrollmentFailure.InvalidToken, "The enrollment token is not valid for this VM (unknown, or replaced by a newer bundle).");
            }

            var ca = CertificateAuthority;
            X509Certificate2? issued = null;
            var record = await _store!.RedeemAsync(request.VmId, request.Token, () =>
            {
                try
                {
                    issued?.Dispose(); // issued again when another change of the shared records came first
                    issued = ca.IssueWorkerCertificate(request.Csr, request.VmId, _time.GetUtcNow(), _options.WorkerCertificateLifetime);
                    return X509CertificateLoader.LoadCertificate(issued.RawDataMemory.Span);
                }
                catch (CryptographicException e)
                {
                    throw new EnrollmentException(EnrollmentFailure.BadRequest, $"The certificate request was refused: {e.Message}", e);
                }
            }, cancellationToken).ConfigureAwait(false);
            using (issued)
            {
                LogEnrolled(_logger, request.VmId, remote, record.Thumbprint, record.NotAfter);
                CloseReplaced(request.VmId);
                return new EnrollmentResponse { Certificate = issued!.ExportCertificatePem(), CaCertificate = ca.CertificatePem };
            }
        }
        catch (EnrollmentException e)
        {
            LogEnrollmentRefused(_logger, remote, request.VmId, e.Code, e.Message);
            return new EnrollmentResponse { Error = e.Code, Message = e.Message };
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or TimeoutException)
        {
            LogEnrollmentRefused(_logger, remote, request.VmId, "unavailable", e.Message);
            return Unavailable;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // The records' store failed in a way not foreseen here (a cluster's grain call, say): the worker is told to
            // try again, and the cause is logged in full.
            LogEnrollmentFailed(_logger, e, remote, request.VmId);
            return Unavailable;
        }
    }

    private static EnrollmentResponse Unavailable => new() { Error = "unavailable", Message = "The host agent cannot enroll now; try again later." };

    /// <summary>Closes the connections of <paramref name="vmId"/> (all VMs when null) whose certificate no longer admits them.</summary>
    private void CloseReplaced(string? vmId)
    {
        foreach (var worker in _active.Keys)
        {
            if (vmId is not null && worker.VmId != vmId)
            {
                continue;
            }

            CertificateRecord? record;
            try
            {
                record = _store!.Admitting(worker.VmId, worker.Thumbprint);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                continue; // keep what is connected while the store cannot be read
            }

            if (record is null)
            {
                LogDropped(_logger, worker.Remote, worker.VmId, Short(worker.Thumbprint));
                worker.Close();
            }
        }
    }

    private async Task RecheckLoopAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.RecheckInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                if (!_active.IsEmpty)
                {
                    CloseReplaced(null);
                }

                if (_options.Shared?.Current.Value is { } shared && shared.CaCertificate.Trim() != CertificateAuthority.CertificatePem.Trim())
                {
                    AdoptSharedCertificateAuthority(shared);
                }

                if (_time.GetUtcNow() >= _serverCertificateRenewAt)
                {
                    try
                    {
                        RenewServerCertificate();
                    }
                    catch (CryptographicException e)
                    {
                        LogRenewFailed(_logger, e); // the current certificate stays; the next tick tries again
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Takes the cluster's CA when it is not the one this listener issues with (this member started before it
    /// joined the shared document, or the cluster was seeded by another member): workers trust only the cluster's.</summary>
    private void AdoptSharedCertificateAuthority(EnrollmentDocument shared)
    {
        try
        {
            // The previous CA is not disposed: a handshake may still be checking with it.
            _ca = CertificateAuthority.FromPem(shared.CaCertificate, shared.CaKey);
            RenewServerCertificate();
            LogAdoptedCertificateAuthority(_logger, _ca.Thumbprint);
        }
        catch (CryptographicException e)
        {
            LogRenewFailed(_logger, e);
        }
    }

    private void RenewServerCertificate()
    {
        var now = _time.GetUtcNow();
        using var issued = CertificateAuthority.IssueServerCertificate(_options.ServerNames, now, TimeSpan.FromDays(90));
        // Through PKCS#12 so the TLS layer gets a key it can use on every platform.
        var certificate = X509CertificateLoader.LoadPkcs12(issued.Export(X509ContentType.Pkcs12), null);
        _serverCertificate = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        _serverCertificateRenewAt = now + TimeSpan.FromDays(60);
    }

    private static string Short(string thumbprint) => thumbprint.Length > 16 ? thumbprint[..16] : thumbprint;

    private sealed record Admission(string VmId, string Thumbprint, X509Certificate2 Certificate);

    /// <summary>A connected worker: its stream tells the gateway when the dispatcher lets it go.</summary>
    private sealed class ActiveWorker
    {
        private readonly ExternalWorkerGateway _gateway;

        public ActiveWorker(string vmId, string thumbprint, string remote, SslStream ssl, ExternalWorkerGateway gateway)
        {
            VmId = vmId;
            Thumbprint = thumbprint;
            Remote = remote;
            _gateway = gateway;
            Stream = new NotifyingStream(ssl, () => _gateway._active.TryRemove(this, out _));
        }

        public string VmId { get; }

        public string Thumbprint { get; }

        public string Remote { get; }

        public NotifyingStream Stream { get; }

        public void Close() => Stream.Dispose();
    }

    /// <summary>
    /// A VM's end of the gateway: the dispatcher accepts the connections routed to its VM from here. A connection
    /// waiting to be accepted when a newer one arrives is dropped (the newest worker wins, as on the unix socket).
    /// </summary>
    private sealed class RoutedChannelListener : IChannelListener
    {
        private readonly ExternalWorkerGateway _gateway;
        private readonly string _vmId;
        private readonly Channel<ChannelTransportConnection> _queue;

        public RoutedChannelListener(ExternalWorkerGateway gateway, string vmId)
        {
            _gateway = gateway;
            _vmId = vmId;
            _queue = System.Threading.Channels.Channel.CreateBounded<ChannelTransportConnection>(
                new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest },
                dropped => dropped.Stream.Dispose());
        }

        public ChannelEndpoint Endpoint => _gateway.LocalEndPoint is { } ep
            ? ChannelEndpoint.Tcp(ep.Address.ToString(), ep.Port)
            : ChannelEndpoint.Tcp(_gateway._options.ListenEndPoint.Address.ToString(), Math.Max(1, _gateway._options.ListenEndPoint.Port));

        public bool Offer(ChannelTransportConnection connection) => _queue.Writer.TryWrite(connection);

        public async ValueTask<ChannelTransportConnection> AcceptAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await _queue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException e)
            {
                throw new ObjectDisposedException($"The worker listener of VM {_vmId} is closed.", e);
            }
        }

        public ValueTask DisposeAsync()
        {
            _gateway._routes.TryRemove(new KeyValuePair<string, RoutedChannelListener>(_vmId, this));
            if (_queue.Writer.TryComplete())
            {
                while (_queue.Reader.TryRead(out var pending))
                {
                    pending.Stream.Dispose();
                }
            }

            return ValueTask.CompletedTask;
        }
    }

    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Worker listener for external VMs on {Endpoint}; CA SHA-256 {CaThumbprint}; certificate names {Names}")]
    private static partial void LogListening(ILogger logger, string endpoint, string caThumbprint, string names);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Worker listener: refused {Remote}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Worker listener: {Remote} connected as VM {VmId} (certificate {Thumbprint})")]
    private static partial void LogAdmitted(ILogger logger, string remote, string vmId, string thumbprint);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "Worker listener: VM {VmId} enrolled from {Remote}; certificate {Thumbprint} valid until {NotAfter:u}")]
    private static partial void LogEnrolled(ILogger logger, string vmId, string remote, string thumbprint, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Worker listener: enrollment from {Remote} for VM {VmId} refused ({Code}): {Detail}")]
    private static partial void LogEnrollmentRefused(ILogger logger, string remote, string vmId, string code, string detail);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Warning, Message = "Worker listener: {Remote} presented no certificate and sent no enrollment request; closed")]
    private static partial void LogNotEnrollment(ILogger logger, string remote);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Warning, Message = "Worker listener: disconnected {Remote} of VM {VmId}: certificate {Thumbprint} no longer admitted (replaced, revoked or expired)")]
    private static partial void LogDropped(ILogger logger, string remote, string vmId, string thumbprint);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Debug, Message = "Worker listener: handshake with {Remote} failed: {Detail}")]
    private static partial void LogHandshakeFailed(ILogger logger, string remote, string detail);

    [LoggerMessage(EventId = 3208, Level = LogLevel.Warning, Message = "Worker listener: too many connections in their handshake; closed {Remote}")]
    private static partial void LogTooManyHandshakes(ILogger logger, string remote);

    [LoggerMessage(EventId = 3209, Level = LogLevel.Error, Message = "Worker listener: accepting a connection failed")]
    private static partial void LogAcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3211, Level = LogLevel.Error, Message = "Worker listener: renewing the listener certificate failed")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3213, Level = LogLevel.Error, Message = "Worker listener: enrollment from {Remote} for VM {VmId} failed; the worker is told to try again")]
    private static partial void LogEnrollmentFailed(ILogger logger, Exception exception, string remote, string vmId);

    [LoggerMessage(EventId = 3212, Level = LogLevel.Information, Message = "Worker listener: issuing with the cluster's CA, SHA-256 {CaThumbprint}")]
    private static partial void LogAdoptedCertificateAuthority(ILogger logger, string caThumbprint);

    [LoggerMessage(EventId = 3210, Level = LogLevel.Error, Message = "Worker listener: the connection from {Remote} failed")]
    private static partial void LogConnectionFailed(ILogger logger, string remote, Exception exception);
}
