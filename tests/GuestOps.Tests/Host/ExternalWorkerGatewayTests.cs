using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Enrollment;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using GuestOps.Host.Enrollment;
using GuestOps.Tests.Channel;
using GuestOps.Tools.Enrollment;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GuestOps.Tests.Host;

/// <summary>
/// The worker listener of the external provider in-process, on loopback: the worker's real enrollment code
/// (<see cref="EnrollCommand"/>) against the gateway, then channels through per-VM dispatchers.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExternalWorkerGatewayTests
{
    private static readonly DelegateHandler Ok = new((_, _) => ValueTask.FromResult(ChannelResponse.Success(EmptyResult.Instance)));

    private string _state = null!;
    private ExternalWorkerGateway _gateway = null!;
    private VmDispatcher _vmA = null!;
    private VmDispatcher _vmB = null!;
    private readonly List<ChannelConnection> _workers = [];
    private readonly RecordingLoggerFactory _log = new();

    public TestContext TestContext { get; set; } = null!;

    private EnrollmentStore Store => new(EnrollmentStore.DirectoryOf(_state));

    private int Port => _gateway.LocalEndPoint!.Port;

    [TestInitialize]
    public void Init()
    {
        _state = Directory.CreateTempSubdirectory("guestops-gw-").FullName;
        _gateway = new ExternalWorkerGateway(
            new ExternalWorkerGatewayOptions
            {
                ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                StateDirectory = _state,
                RecheckInterval = TimeSpan.FromMilliseconds(200),
                HandshakeTimeout = TimeSpan.FromSeconds(5),
            },
            TimeProvider.System,
            _log);
        _gateway.Start();
        var dispatcher = new VmDispatcherOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(200), HeartbeatTimeout = TimeSpan.FromSeconds(2) };
        _vmA = new VmDispatcher("vm-a", _gateway.Register("vm-a"), dispatcher, NullLoggerFactory.Instance);
        _vmB = new VmDispatcher("vm-b", _gateway.Register("vm-b"), dispatcher, NullLoggerFactory.Instance);
        _vmA.Start();
        _vmB.Start();
    }

    [TestCleanup]
    public async Task Cleanup()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        await _vmA.DisposeAsync();
        await _vmB.DisposeAsync();
        await _gateway.DisposeAsync();
        Directory.Delete(_state, recursive: true);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task EnrolledWorker_ConnectsAsItsVm_Only()
    {
        var ct = TestContext.CancellationToken;
        var dir = await EnrollAsync(Bundle("vm-a"), ct);
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, EnrollCommand.KeyFileName)));
        using (var cert = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, EnrollCommand.CertificateFileName)))
        {
            Assert.AreEqual("vm-a", CertificateAuthority.VmIdOf(cert));
        }

        Assert.AreEqual(_gateway.CertificateAuthority.Thumbprint, X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, EnrollCommand.CaFileName)).GetCertHashString(HashAlgorithmName.SHA256));

        var connector = FilesConnector(dir);
        Assert.IsTrue(await ConnectAsync(connector, ct), "the enrolled worker connects");
        await WaitUntilAsync(() => _vmA.IsReady, ct);
        Assert.IsTrue((await _vmA.InvokeAsync(new ValidateCredentialsRequest(), ct)).IsSuccess);
        Assert.IsFalse(_vmB.IsReady, "VM A's certificate never serves VM B");

        // The connection drops; the same worker (same connector, TLS session cache and all) reconnects and is admitted.
        await _workers[^1].DisposeAsync();
        _workers.RemoveAt(_workers.Count - 1);
        await WaitUntilAsync(() => !_vmA.IsReady, ct);
        Assert.IsTrue(await ConnectAsync(connector, ct), "a reconnect is admitted like the first connection");
        await WaitUntilAsync(() => _vmA.IsReady, ct);
        Assert.IsTrue((await _vmA.InvokeAsync(new ValidateCredentialsRequest(), ct)).IsSuccess);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Token_WorksOnce()
    {
        var ct = TestContext.CancellationToken;
        var bundle = Bundle("vm-a");
        await EnrollAsync(bundle, ct);
        var again = await Assert.ThrowsExactlyAsync<EnrollmentFailedException>(() => EnrollAsync(bundle, ct));
        Assert.AreEqual("tokenUsed", again.Code, again.Message);

        var forged = bundle with { Token = bundle.Token + "A" };
        Assert.AreEqual("invalidToken", (await Assert.ThrowsExactlyAsync<EnrollmentFailedException>(() => EnrollAsync(forged, ct))).Code);

        // A token of a VM that is not external here (no route) is refused, and a token of VM A cannot enroll VM B.
        var notHere = Bundle("vm-z");
        Assert.AreEqual("invalidToken", (await Assert.ThrowsExactlyAsync<EnrollmentFailedException>(() => EnrollAsync(notHere, ct))).Code);
        var forB = Bundle("vm-a") with { VmId = "vm-b" };
        Assert.AreEqual("invalidToken", (await Assert.ThrowsExactlyAsync<EnrollmentFailedException>(() => EnrollAsync(forB, ct))).Code);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task CertificatesNotEnrolledForTheVm_AreRefused()
    {
        var ct = TestContext.CancellationToken;
        await EnrollAsync(Bundle("vm-a"), ct);
        await EnrollAsync(Bundle("vm-b"), ct);

        // Signed by this very CA and naming VM B, but not the certificate enrolled for VM B.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=vm-b", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        using (var issued = _gateway.CertificateAuthority.IssueWorkerCertificate(csr, "vm-b", DateTimeOffset.UtcNow, TimeSpan.FromDays(1)))
        {
            Assert.IsFalse(await ConnectAsync(Connector(issued.CopyWithPrivateKey(key)), ct), "an unrecorded certificate");
        }

        // A certificate of another host agent's CA naming VM A.
        using (var foreignCa = CertificateAuthority.LoadOrCreate(Path.Combine(_state, "foreign")))
        using (var foreign = foreignCa.IssueWorkerCertificate(csr, "vm-a", DateTimeOffset.UtcNow, TimeSpan.FromDays(1)))
        {
            Assert.IsFalse(await ConnectAsync(Connector(foreign.CopyWithPrivateKey(key)), ct), "another CA");
        }

        // A certificate of this CA for a VM that is not external here.
        using (var stray = _gateway.CertificateAuthority.IssueWorkerCertificate(csr, "vm-z", DateTimeOffset.UtcNow, TimeSpan.FromDays(1)))
        {
            Assert.IsFalse(await ConnectAsync(Connector(stray.CopyWithPrivateKey(key)), ct), "not an external VM");
        }

        await Task.Delay(300, ct);
        Assert.IsFalse(_vmA.IsReady);
        Assert.IsFalse(_vmB.IsReady);
        var refusals = _log.Lines.Where(l => l.Contains("refused", StringComparison.Ordinal)).ToList();
        Assert.HasCount(3, refusals, string.Join(Environment.NewLine, _log.Lines));
        StringAssert.Contains(refusals[0], "is not the enrolled certificate of VM vm-b");
        StringAssert.Contains(refusals[1], "not a valid client certificate of this host agent's CA");
        StringAssert.Contains(refusals[2], "VM vm-z is not an external VM");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ReEnrollment_DropsTheOldCertificate_AndRevokeDisconnects()
    {
        var ct = TestContext.CancellationToken;
        var first = await EnrollAsync(Bundle("vm-a"), ct);
        var oldConnector = Connector(X509Certificate2.CreateFromPemFile(Path.Combine(first, EnrollCommand.CertificateFileName), Path.Combine(first, EnrollCommand.KeyFileName)));
        Assert.IsTrue(await ConnectAsync(oldConnector, ct));
        await WaitUntilAsync(() => _vmA.IsReady, ct);

        var second = await EnrollAsync(Bundle("vm-a"), ct);
        await WaitUntilAsync(() => !_vmA.IsReady, ct); // the old certificate's connection is closed
        Assert.IsFalse(await ConnectAsync(oldConnector, ct), "the replaced certificate is refused");
        Assert.IsTrue(_log.Lines.Any(l => l.Contains("no longer admitted", StringComparison.Ordinal)), "the old connection was dropped by the gateway");
        Assert.IsTrue(_log.Lines.Any(l => l.Contains("is not the enrolled certificate of VM vm-a", StringComparison.Ordinal)), string.Join(Environment.NewLine, _log.Lines));
        Assert.IsTrue(await ConnectAsync(FilesConnector(second), ct));
        await WaitUntilAsync(() => _vmA.IsReady, ct);

        // The admin's revoke (another process, same file) disconnects within the recheck interval.
        Store.Revoke("vm-a");
        await WaitUntilAsync(() => !_vmA.IsReady, ct);
        Assert.IsFalse(await ConnectAsync(FilesConnector(second), ct));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task AWorkerWithSeveralHostAgents_MovesPastOneItCannotReach_AndStaysWhereItConnected()
    {
        var ct = TestContext.CancellationToken;
        var dir = await EnrollAsync(Bundle("vm-a"), ct);
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var unreachable = ChannelEndpoint.Tcp("127.0.0.1", ((System.Net.IPEndPoint)closed.LocalEndpoint).Port);
        closed.Stop(); // nothing listens there now: connection refused, as from a host agent that was killed

        var connector = FilesConnector(dir, unreachable);
        Assert.AreEqual(unreachable, connector.Endpoint, "the first listed host agent is tried first");
        Assert.IsTrue(await ConnectAsync(connector, ct), "the worker reaches the next host agent in the same attempt");
        Assert.AreEqual(Port, connector.Endpoint.Port, "the next attempt starts where the worker connected");
        await WaitUntilAsync(() => _vmA.IsReady, ct);

        await _workers[^1].DisposeAsync();
        _workers.RemoveAt(_workers.Count - 1);
        await WaitUntilAsync(() => !_vmA.IsReady, ct);
        Assert.IsTrue(await ConnectAsync(connector, ct), "a reconnect goes back to the host agent it was on");
        Assert.AreEqual(Port, connector.Endpoint.Port);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task WithoutACertificate_OnlyEnrollmentIsPossible()
    {
        var ct = TestContext.CancellationToken;
        using var ca = X509CertificateLoader.LoadCertificate(_gateway.CertificateAuthority.Certificate.RawData);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port, ct);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            RemoteCertificateValidationCallback = ChannelTls.TrustOnly(ca, requireName: true),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        }, ct);

        // A channel Hello instead of an enrollment request: the host closes the connection.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(50));
        await Assert.ThrowsAsync<Exception>(async () =>
        {
            await using var worker = await ChannelConnection.EstablishAsync(ssl, ChannelTestKit.WorkerOptions(Ok), timeout.Token);
            await worker.Completion.WaitAsync(timeout.Token);
            throw new IOException("closed after the handshake");
        });
        Assert.IsFalse(_vmA.IsReady);
        Assert.IsFalse(timeout.IsCancellationRequested, "closed at once, not left hanging");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task HostAgent_RunsAnExternalVm_BesideOthers_WithoutStartingAProcess()
    {
        var ct = TestContext.CancellationToken;
        VmDefinition Vm(string id, bool external) => new(
            new VmConfiguration { Id = id, Name = id + "-name", Uuid = Guid.NewGuid().ToString(), InstanceUuid = Guid.NewGuid().ToString() },
            [],
            External: external);
        await using var agent = new HostAgent(
            [Vm("vm-ext", external: true), Vm("vm-local", external: false)],
            new HostAgentOptions { StateDirectory = _state, Provider = null, ExternalWorkers = _gateway },
            TimeProvider.System,
            NullLoggerFactory.Instance);
        agent.Start();
        Assert.IsFalse(agent.GetVirtualMachine("vm-ext")!.Agent.OperationsReady);
        Assert.IsNull(agent.GuestProcessId("vm-ext"), "no process for an external VM");
        var unavailable = await Assert.ThrowsExactlyAsync<GuestAgentException>(() => agent.InvokeGuestAsync("vm-ext", new ValidateCredentialsRequest(), ct));
        Assert.AreEqual(GuestAgentFailure.Unavailable, unavailable.Failure);

        var dir = await EnrollAsync(Bundle("vm-ext"), ct);
        Assert.IsTrue(await ConnectAsync(FilesConnector(dir), ct));
        await WaitUntilAsync(() => agent.GetVirtualMachine("vm-ext")!.Agent.OperationsReady, ct);
        Assert.AreEqual(VmPowerState.PoweredOn, agent.GetVirtualMachine("vm-ext")!.PowerState);
        Assert.IsTrue((await agent.InvokeGuestAsync("vm-ext", new ValidateCredentialsRequest(), ct)).IsSuccess);
        Assert.IsFalse(agent.GetVirtualMachine("vm-local")!.Agent.OperationsReady, "the local VM has no provider here");
    }

    private EnrollmentBundle Bundle(string vmId)
    {
        var token = Store.CreateToken(vmId, TimeSpan.FromHours(1));
        return new EnrollmentBundle
        {
            VmId = vmId,
            VmName = vmId,
            Address = $"tcp:127.0.0.1:{Port}",
            ServerName = "127.0.0.1",
            CaCertificate = _gateway.CertificateAuthority.CertificatePem,
            Token = token.Token,
            Expires = token.Expires,
        };
    }

    private async Task<string> EnrollAsync(EnrollmentBundle bundle, CancellationToken ct)
    {
        var dir = Path.Combine(_state, "worker-" + Guid.NewGuid().ToString("N"));
        await EnrollCommand.EnrollAsync(bundle, dir, null, TimeSpan.FromSeconds(10), ct);
        return dir;
    }

    private IChannelConnector FilesConnector(string dir, params ChannelEndpoint[] before) => new CertificateFilesConnector(
        [.. before, ChannelEndpoint.Tcp("127.0.0.1", Port)],
        Path.Combine(dir, EnrollCommand.CertificateFileName),
        Path.Combine(dir, EnrollCommand.KeyFileName),
        Path.Combine(dir, EnrollCommand.CaFileName),
        serverName: null);

    private TcpTlsChannelConnector Connector(X509Certificate2 clientCertificate)
    {
        var pkcs12 = X509CertificateLoader.LoadPkcs12(clientCertificate.Export(X509ContentType.Pkcs12), null);
        var ca = X509CertificateLoader.LoadCertificate(_gateway.CertificateAuthority.Certificate.RawData);
        return new TcpTlsChannelConnector("127.0.0.1", Port, pkcs12, ChannelTls.TrustOnly(ca, requireName: true));
    }

    /// <summary>Connects and completes the channel handshake; false when the host refuses (at TLS or right after).</summary>
    private async Task<bool> ConnectAsync(IChannelConnector connector, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(50));
        try
        {
            var transport = await connector.ConnectAsync(timeout.Token);
            var options = new ChannelConnectionOptions
            {
                Role = ChannelRole.Worker,
                Software = "test-worker",
                RequestHandler = Ok,
                HeartbeatInterval = TimeSpan.FromMilliseconds(200),
                Capabilities = [ChannelCapabilities.ForOperation(ValidateCredentialsRequest.OperationName)],
                HandshakeTimeout = TimeSpan.FromSeconds(5),
            };
            var worker = await ChannelConnection.EstablishAsync(transport.Stream, options, timeout.Token);
            _workers.Add(worker);
            return true;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or ChannelException or SocketException or ObjectDisposedException)
        {
            Assert.IsFalse(timeout.IsCancellationRequested, $"a refusal must be prompt, not a timeout: {e}");
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("The condition did not become true within 10 s.");
            }

            await Task.Delay(25, ct);
        }
    }
}

/// <summary>Keeps every formatted log line, for assertions on why something was refused.</summary>
internal sealed class RecordingLoggerFactory : ILoggerFactory, ILogger
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToList();
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines)
        {
            _lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
