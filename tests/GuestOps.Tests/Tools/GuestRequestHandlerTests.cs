using GuestOps.Channel;
using GuestOps.Channel.Messages;
using GuestOps.Tests.Channel;
using GuestOps.Tools;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
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
    [Timeout(15_000, CooperativeCancellation = true)]
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
    [Timeout(15_000, CooperativeCancellation = true)]
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
}
