using System.Net;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Enrollment;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Host.Dispatch;
using GuestOps.Host.Enrollment;
using GuestOps.Host.SharedState;
using GuestOps.Tests.Channel;
using GuestOps.Tools.Enrollment;
using Microsoft.Extensions.Logging.Abstractions;

namespace GuestOps.Tests.Host;

/// <summary>
/// Two host agents' worker listeners that share one enrollment document (a cluster's CA and records; here a
/// <see cref="LocalDocument{T}"/> stands in for the engine's): a worker enrolled at A is admitted at B with the same
/// certificate, and a revocation through the document disconnects it at B.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SharedEnrollmentTests
{
    private static readonly DelegateHandler Ok = new((_, _) => ValueTask.FromResult(ChannelResponse.Success(EmptyResult.Instance)));

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task AWorkerEnrolledAtOneHostAgent_IsAdmittedAtAnother_AndARevocationHoldsThere()
    {
        var ct = TestContext.CancellationToken;
        var root = Directory.CreateTempSubdirectory("guestops-shared-").FullName;
        var stateA = Path.Combine(root, "a");
        var stateB = Path.Combine(root, "b");
        var document = new LocalDocument<EnrollmentDocument>(EnrollmentStore.SeedDocument(EnrollmentStore.DirectoryOf(stateA)));
        var store = new EnrollmentStore(document);
        await using var gatewayA = Gateway(stateA, document);
        await using var gatewayB = Gateway(stateB, document);
        var dispatcher = new VmDispatcherOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(200), HeartbeatTimeout = TimeSpan.FromSeconds(2) };
        await using var vmAtA = new VmDispatcher("vm-ext", gatewayA.Register("vm-ext"), dispatcher, NullLoggerFactory.Instance);
        await using var vmAtB = new VmDispatcher("vm-ext", gatewayB.Register("vm-ext"), dispatcher, NullLoggerFactory.Instance);
        vmAtA.Start();
        vmAtB.Start();
        Assert.AreEqual(gatewayA.CertificateAuthority.Thumbprint, gatewayB.CertificateAuthority.Thumbprint, "one CA for both");
        Assert.IsFalse(File.Exists(Path.Combine(EnrollmentStore.DirectoryOf(stateB), CertificateAuthority.KeyFileName)), "B makes no CA of its own");

        var token = await store.CreateTokenAsync("vm-ext", TimeSpan.FromHours(1), ct);
        var bundle = new EnrollmentBundle
        {
            VmId = "vm-ext",
            Address = $"tcp:127.0.0.1:{gatewayA.LocalEndPoint!.Port}",
            Addresses = [$"tcp:127.0.0.1:{gatewayA.LocalEndPoint!.Port}", $"tcp:127.0.0.1:{gatewayB.LocalEndPoint!.Port}"],
            CaCertificate = gatewayA.CertificateAuthority.CertificatePem,
            Token = token.Token,
            Expires = token.Expires,
        };
        var worker = Path.Combine(root, "worker");
        await EnrollCommand.EnrollAsync(bundle, worker, null, TimeSpan.FromSeconds(10), ct);

        var connector = new CertificateFilesConnector(
            [ChannelEndpoint.Tcp("127.0.0.1", gatewayB.LocalEndPoint!.Port)],
            Path.Combine(worker, EnrollCommand.CertificateFileName),
            Path.Combine(worker, EnrollCommand.KeyFileName),
            Path.Combine(worker, EnrollCommand.CaFileName),
            serverName: null);
        await using var connection = await ChannelConnection.EstablishAsync(
            (await connector.ConnectAsync(ct)).Stream,
            new ChannelConnectionOptions
            {
                Role = ChannelRole.Worker,
                Software = "test-worker",
                RequestHandler = Ok,
                HeartbeatInterval = TimeSpan.FromMilliseconds(200),
                Capabilities = [ChannelCapabilities.ForOperation(ValidateCredentialsRequest.OperationName)],
                HandshakeTimeout = TimeSpan.FromSeconds(5),
            },
            ct);
        await WaitUntilAsync(() => vmAtB.IsReady, ct);
        Assert.IsTrue((await vmAtB.InvokeAsync(new ValidateCredentialsRequest(), ct)).IsSuccess, "enrolled at A, served at B");

        Assert.AreEqual(1, await store.RevokeAsync("vm-ext", ct));
        await WaitUntilAsync(() => !vmAtB.IsReady, ct);
        Directory.Delete(root, recursive: true);
    }

    [TestMethod]
    public async Task ATokenIssuedElsewhere_IsRedeemedAtAMemberWhoseCopyLags()
    {
        var ct = TestContext.CancellationToken;
        var root = Directory.CreateTempSubdirectory("guestops-lag-").FullName;
        try
        {
            var directory = EnrollmentStore.DirectoryOf(root);
            var authority = new LocalDocument<EnrollmentDocument>(EnrollmentStore.SeedDocument(directory));
            var lagging = new LaggingDocument<EnrollmentDocument>(authority);
            var token = await new EnrollmentStore(authority).CreateTokenAsync("vm-ext", TimeSpan.FromHours(1), ct);
            using var ca = CertificateAuthority.LoadOrCreate(directory);

            var record = await new EnrollmentStore(lagging).RedeemAsync("vm-ext", token.Token, () => EnrollmentStoreTests.Issue(ca, "vm-ext"), ct);

            Assert.AreEqual("vm-ext", record.VmId);
            Assert.IsNotNull(authority.Current.Value.Records.Tokens.Single().Used, "redeemed in the authority's document");
            var refused = await Assert.ThrowsExactlyAsync<EnrollmentException>(async () => await new EnrollmentStore(lagging).RedeemAsync("vm-ext", "not-a-token", () => EnrollmentStoreTests.Issue(ca, "vm-ext"), ct));
            Assert.AreEqual(EnrollmentFailure.InvalidToken, refused.Failure, "a token the authority does not know either is still refused");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task AStoreThatFails_AnswersTheWorkerUnavailable()
    {
        var ct = TestContext.CancellationToken;
        var root = Directory.CreateTempSubdirectory("guestops-store-down-").FullName;
        try
        {
            var authority = new LocalDocument<EnrollmentDocument>(EnrollmentStore.SeedDocument(EnrollmentStore.DirectoryOf(root)));
            var token = await new EnrollmentStore(authority).CreateTokenAsync("vm-ext", TimeSpan.FromHours(1), ct);
            await using var gateway = Gateway(root, new FailingDocument(authority));
            gateway.Register("vm-ext");
            var bundle = new EnrollmentBundle
            {
                VmId = "vm-ext",
                Address = $"tcp:127.0.0.1:{gateway.LocalEndPoint!.Port}",
                CaCertificate = gateway.CertificateAuthority.CertificatePem,
                Token = token.Token,
                Expires = token.Expires,
            };

            var e = await Assert.ThrowsAsync<Exception>(async () => await EnrollCommand.EnrollAsync(bundle, Path.Combine(root, "worker"), null, TimeSpan.FromSeconds(10), ct));

            StringAssert.Contains(e.Message, "enrollment refused (unavailable)", "an answer, not a closed connection");
            Assert.IsNull(authority.Current.Value.Records.Tokens.Single().Used, "the token stays unused");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Reads <paramref name="authority"/>; every change fails as a cluster's grain call can.</summary>
    private sealed class FailingDocument(LocalDocument<EnrollmentDocument> authority) : IStateDocument<EnrollmentDocument>
    {
        public Versioned<EnrollmentDocument> Current => authority.Current;

        public ValueTask<bool> TryReplaceAsync(long expectedVersion, EnrollmentDocument next, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("the store is down");
    }

    private static ExternalWorkerGateway Gateway(string state, IStateDocument<EnrollmentDocument> shared)
    {
        var gateway = new ExternalWorkerGateway(
            new ExternalWorkerGatewayOptions
            {
                ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                StateDirectory = state,
                RecheckInterval = TimeSpan.FromMilliseconds(200),
                HandshakeTimeout = TimeSpan.FromSeconds(5),
                Shared = shared,
            },
            TimeProvider.System,
            NullLoggerFactory.Instance);
        gateway.Start();
        return gateway;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.IsLessThan(deadline, DateTime.UtcNow, "The condition did not become true within 10 s.");
            await Task.Delay(25, ct);
        }
    }
}
