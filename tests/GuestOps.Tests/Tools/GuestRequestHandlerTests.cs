using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Tests.Channel;
using GuestOps.Tools;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Processes;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace GuestOps.Tests.Tools;

/// <summary>The worker's request handler over a real in-memory channel, with PAM and the user database mocked.</summary>
[TestClass]
public sealed class GuestRequestHandlerTests
{
    private static async Task<(ChannelConnection Host, ChannelConnection Worker, Mock<IImpersonator> Impersonator)> ConnectAsync(
        CancellationToken ct, params string[] disabled)
    {
        var pam = new Mock<IGuestAuthenticator>();
        pam.Setup(p => p.AuthenticateAsync("alice", "pw", It.IsAny<CancellationToken>())).ReturnsAsync((AuthenticationResult.Success, ""));
        pam.Setup(p => p.AuthenticateAsync("alice", It.Is<string>(s => s != "pw"), It.IsAny<CancellationToken>())).ReturnsAsync((AuthenticationResult.Rejected, "bad"));
        var users = new Mock<IUserDirectory>();
        users.Setup(u => u.FindByName("alice")).Returns(new GuestUser("alice", 1001, 1001, [1001], "/home/alice"));
        var auth = new GuestAuthenticationService(pam.Object, users.Object, LoginThrottle.CreateDefault(TimeProvider.System), null, NullLogger<GuestAuthenticationService>.Instance);
        var impersonator = new Mock<IImpersonator>();
        impersonator.Setup(i => i.RunAsAsync(It.IsAny<GuestUser>(), It.IsAny<Func<ListFilesResult>>(), It.IsAny<CancellationToken>()))
                    .Returns((GuestUser _, Func<ListFilesResult> work, CancellationToken _) => Task.FromResult(work()));
        var handler = new GuestRequestHandler(auth, impersonator.Object, new HashSet<string>(disabled), NullLogger<GuestRequestHandler>.Instance);
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        return (host, worker, impersonator);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ListFiles_AuthenticatesThenRunsAsTheUser()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (host, worker, impersonator) = await ConnectAsync(ct);
        await using var h = host;
        await using var w = worker;

        var result = await host.InvokeAsync(new ListFilesRequest { Path = "/", Credential = new GuestPasswordCredential("alice", "pw") }, ct);
        Assert.AreEqual(".", result.Entries[0].Name);
        impersonator.Verify(i => i.RunAsAsync(It.Is<GuestUser>(u => u.Uid == 1001), It.IsAny<Func<ListFilesResult>>(), It.IsAny<CancellationToken>()), Times.Once);

        var bad = await host.SendAsync(new ListFilesRequest { Path = "/", Credential = new GuestPasswordCredential("alice", "wrong") }, ct);
        Assert.AreEqual(GuestErrorCode.InvalidLogin, bad.Error!.Code);
        impersonator.Verify(i => i.RunAsAsync(It.IsAny<GuestUser>(), It.IsAny<Func<ListFilesResult>>(), It.IsAny<CancellationToken>()), Times.Once, "nothing runs without authentication");

        var invalid = await host.SendAsync(new ListFilesRequest { Path = "relative", Credential = new GuestPasswordCredential("alice", "pw") }, ct);
        Assert.AreEqual(GuestErrorCode.InvalidArgument, invalid.Error!.Code);

        Assert.IsTrue((await host.SendAsync(new ValidateCredentialsRequest { Credential = new GuestPasswordCredential("alice", "pw") }, ct)).IsSuccess);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task DisabledOperation_IsRefused_AsOperationDisabled()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (host, worker, _) = await ConnectAsync(ct, ListFilesRequest.OperationName);
        await using var h = host;
        await using var w = worker;
        var r = await host.SendAsync(new ListFilesRequest { Path = "/", Credential = new GuestPasswordCredential("alice", "pw") }, ct);
        Assert.AreEqual(GuestErrorCode.OperationDisabled, r.Error!.Code);
    }

    [TestMethod]
    public void Operations_AdvertiseEveryRequestTheChannelDefines()
    {
        var defined = typeof(ChannelRequest).GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonDerivedTypeAttribute), false)
            .Cast<System.Text.Json.Serialization.JsonDerivedTypeAttribute>()
            .Select(a => (string)a.TypeDiscriminator!)
            .ToList();
        CollectionAssert.AreEquivalent(defined, GuestRequestHandler.Operations.ToList());
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task FileAndProcessOperations_AreDispatched_AsTheAuthenticatedUser()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var pam = new Mock<IGuestAuthenticator>();
        pam.Setup(p => p.AuthenticateAsync("alice", "pw", It.IsAny<CancellationToken>())).ReturnsAsync((AuthenticationResult.Success, ""));
        pam.Setup(p => p.AuthenticateAsync("alice", It.Is<string>(s => s != "pw"), It.IsAny<CancellationToken>())).ReturnsAsync((AuthenticationResult.Rejected, "bad"));
        var users = new Mock<IUserDirectory>();
        users.Setup(u => u.FindByName("alice")).Returns(new GuestUser("alice", 1001, 1001, [1001], "/home/alice"));
        var auth = new GuestAuthenticationService(pam.Object, users.Object, LoginThrottle.CreateDefault(TimeProvider.System), null, NullLogger<GuestAuthenticationService>.Instance);
        var impersonator = new RecordingImpersonator();
        using var programs = new StartedPrograms();
        var handler = new GuestRequestHandler(auth, impersonator, new HashSet<string>(), NullLogger<GuestRequestHandler>.Instance, users.Object, programs, TimeProvider.System);
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        await using var w = worker;
        var alice = new GuestPasswordCredential("alice", "pw");
        var dir = Directory.CreateTempSubdirectory("guestops-handler-").FullName;
        try
        {
            await host.InvokeAsync(new MakeDirectoryRequest { Path = dir + "/a/b", CreateParents = true, Credential = alice }, ct);
            Assert.IsTrue(Directory.Exists(dir + "/a/b"));
            var temp = await host.InvokeAsync(new CreateTemporaryFileRequest { Directory = dir, Prefix = "t", Credential = alice }, ct);
            await host.InvokeAsync(new MoveFileRequest { Source = temp.Path, Destination = dir + "/a/moved", Credential = alice }, ct);
            await host.InvokeAsync(new DeleteFileRequest { Path = dir + "/a/moved", Credential = alice }, ct);
            await host.InvokeAsync(new MoveDirectoryRequest { Source = dir + "/a", Destination = dir + "/c", Credential = alice }, ct);
            await host.InvokeAsync(new ChangeFileAttributesRequest { Path = dir + "/c", Attributes = new() { Permissions = 0x1C0 }, Credential = alice }, ct);
            await host.InvokeAsync(new DeleteDirectoryRequest { Path = dir + "/c", Recursive = true, Credential = alice }, ct);
            Assert.IsFalse(Directory.Exists(dir + "/c"));

            var env = await host.InvokeAsync(new ReadEnvironmentRequest { Names = ["HOME"], Credential = alice }, ct);
            CollectionAssert.AreEqual(new[] { "HOME=/home/alice" }, env.Variables.ToList());
            var procs = await host.InvokeAsync(new ListProcessesRequest { Pids = [Environment.ProcessId], Credential = alice }, ct);
            Assert.AreEqual((long)Environment.ProcessId, procs.Processes.Single().Pid);
            Assert.HasCount(9, impersonator.Users);
            Assert.IsTrue(impersonator.Users.All(u => u.Uid == 1001), "everything ran as alice");

            // Guest errors travel with their code, path and pid.
            var exists = await host.SendAsync(new MakeDirectoryRequest { Path = dir, Credential = alice }, ct);
            Assert.AreEqual(GuestErrorCode.FileAlreadyExists, exists.Error!.Code);
            Assert.AreEqual(dir, exists.Error.Path);
            var noProcess = await host.SendAsync(new TerminateProcessRequest { Pid = 4_194_305, Credential = alice }, ct);
            Assert.AreEqual(GuestErrorCode.NoSuchProcess, noProcess.Error!.Code);
            Assert.AreEqual(4_194_305L, noProcess.Error.Pid);
            var windows = await host.SendAsync(new ChangeFileAttributesRequest { Path = dir, Attributes = new() { Kind = GuestAttributeKind.Windows }, Credential = alice }, ct);
            Assert.AreEqual(GuestErrorCode.NotSupported, windows.Error!.Code);
            var relative = await host.SendAsync(new StartProgramRequest { ProgramPath = "bin/sh", Credential = alice }, ct);
            Assert.AreEqual(GuestErrorCode.InvalidArgument, relative.Error!.Code);

            // Nothing runs without authentication.
            var before = impersonator.Users.Count;
            var bad = await host.SendAsync(new DeleteDirectoryRequest { Path = dir, Recursive = true, Credential = new GuestPasswordCredential("alice", "wrong") }, ct);
            Assert.AreEqual(GuestErrorCode.InvalidLogin, bad.Error!.Code);
            Assert.AreEqual(before, impersonator.Users.Count);
            Assert.IsTrue(Directory.Exists(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs the work on the calling thread and records who it was for.</summary>
    private sealed class RecordingImpersonator : IImpersonator
    {
        public System.Collections.Concurrent.ConcurrentQueue<GuestUser> Users { get; } = new();

        public bool CanImpersonateOthers => true;

        public Task<T> RunAsAsync<T>(GuestUser user, Func<T> work, CancellationToken cancellationToken)
        {
            Users.Enqueue(user);
            try
            {
                return Task.FromResult(work());
            }
            catch (Exception ex)
            {
                return Task.FromException<T>(ex);
            }
        }
    }
}
