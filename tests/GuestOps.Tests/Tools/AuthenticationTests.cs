using GuestOps.Channel.Messages;
using GuestOps.Tools;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Identity;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;
using GuestOps.Tools.Errors;

namespace GuestOps.Tests.Tools;

[TestClass]
public sealed class AuthenticationTests
{
    private static readonly GuestUser Alice = new("alice", 1001, 1001, [1001], "/home/alice");

    private static (GuestAuthenticationService Service, Mock<IGuestAuthenticator> Pam) Create(CredentialCache? cache = null, LoginThrottle? throttle = null)
    {
        var pam = new Mock<IGuestAuthenticator>(MockBehavior.Strict);
        pam.Setup(p => p.AuthenticateAsync("alice", "right", It.IsAny<CancellationToken>()))
           .ReturnsAsync((AuthenticationResult.Success, ""));
        pam.Setup(p => p.AuthenticateAsync("alice", It.Is<string>(s => s != "right"), It.IsAny<CancellationToken>()))
           .ReturnsAsync((AuthenticationResult.Rejected, "pam_authenticate: Authentication failure"));
        pam.Setup(p => p.AuthenticateAsync("ghost", It.IsAny<string>(), It.IsAny<CancellationToken>()))
           .ReturnsAsync((AuthenticationResult.Success, ""));
        var users = new Mock<IUserDirectory>();
        users.Setup(u => u.FindByName("alice")).Returns(Alice);
        users.Setup(u => u.FindByName("ghost")).Returns((GuestUser?)null);
        var service = new GuestAuthenticationService(
            pam.Object,
            users.Object,
            throttle ?? new LoginThrottle(TimeProvider.System, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5)),
            cache,
            NullLogger<GuestAuthenticationService>.Instance);
        return (service, pam);
    }

    private static async Task<GuestErrorCode> FailureOf(Task task)
    {
        var ex = await Assert.ThrowsExactlyAsync<GuestOperationException>(() => task);
        return ex.Code;
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task GoodPassword_ResolvesTheUser_BadOnes_AreInvalidLogin()
    {
        var (svc, _) = Create();
        Assert.AreEqual(Alice, await svc.AuthenticateAsync(new GuestPasswordCredential("alice", "right"), CancellationToken.None));
        Assert.AreEqual(GuestErrorCode.InvalidLogin, await FailureOf(svc.AuthenticateAsync(new GuestPasswordCredential("alice", "wrong"), CancellationToken.None)));
        Assert.AreEqual(GuestErrorCode.InvalidLogin, await FailureOf(svc.AuthenticateAsync(null, CancellationToken.None)));
        Assert.AreEqual(GuestErrorCode.InvalidLogin, await FailureOf(svc.AuthenticateAsync(new GuestPasswordCredential("", "x"), CancellationToken.None)));
        Assert.AreEqual(GuestErrorCode.InvalidLogin, await FailureOf(svc.AuthenticateAsync(new GuestPasswordCredential("al\0ice", "right"), CancellationToken.None)));
        Assert.AreEqual(GuestErrorCode.InvalidLogin, await FailureOf(svc.AuthenticateAsync(new GuestPasswordCredential("ghost", "x"), CancellationToken.None)), "PAM ok but no account");
        Assert.AreEqual(GuestErrorCode.NotSupported, await FailureOf(svc.AuthenticateAsync(new GuestTicketCredential("t"), CancellationToken.None)));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Cache_SkipsPam_ForRecentlyVerifiedCredentials_Only()
    {
        var clock = new ManualClock();
        var cache = new CredentialCache(TimeSpan.FromSeconds(10), clock);
        var (svc, pam) = Create(cache);
        for (var i = 0; i < 5; i++)
        {
            await svc.AuthenticateAsync(new GuestPasswordCredential("alice", "right"), CancellationToken.None);
        }

        pam.Verify(p => p.AuthenticateAsync("alice", "right", It.IsAny<CancellationToken>()), Times.Once);

        // A different password is not a hit.
        await FailureOf(svc.AuthenticateAsync(new GuestPasswordCredential("alice", "wrong"), CancellationToken.None));
        pam.Verify(p => p.AuthenticateAsync("alice", "wrong", It.IsAny<CancellationToken>()), Times.Once);

        // After the TTL, PAM is asked again.
        clock.Advance(TimeSpan.FromSeconds(11));
        await svc.AuthenticateAsync(new GuestPasswordCredential("alice", "right"), CancellationToken.None);
        pam.Verify(p => p.AuthenticateAsync("alice", "right", It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [TestMethod]
    public void Cache_KeepsNoPassword_AndIsBounded()
    {
        var clock = new ManualClock();
        var cache = new CredentialCache(TimeSpan.FromSeconds(10), clock, maxEntries: 3);
        for (var i = 0; i < 10; i++)
        {
            cache.Add("u" + i, "pw-" + i, new GuestUser("u" + i, 1000, 1000, [], "/home/u"));
        }

        Assert.AreEqual(3, cache.Count);
        Assert.IsTrue(cache.TryGet("u0", "pw-0", out _));
        Assert.IsFalse(cache.TryGet("u0", "pw-1", out _));
        Assert.IsFalse(cache.TryGet("u9", "pw-9", out _), "full: not cached");
    }

    [TestMethod]
    public void Throttle_SpacesAttempts_AfterFailures_PerUser()
    {
        // The throttle's own clock: each wait is observed as a task that completes exactly when the clock reaches it.
        var clock = new FakeTimeProvider();
        var throttle = new LoginThrottle(clock, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400));
        Assert.IsTrue(throttle.WaitAsync("mallory", CancellationToken.None).IsCompleted, "no failures: no wait");

        throttle.RecordFailure("mallory");
        throttle.RecordFailure("mallory"); // 2 failures: 200 ms spacing
        var first = throttle.WaitAsync("mallory", CancellationToken.None);
        var second = throttle.WaitAsync("mallory", CancellationToken.None);
        Assert.IsTrue(throttle.WaitAsync("alice", CancellationToken.None).IsCompleted, "other users are not slowed");

        clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.IsFalse(first.IsCompleted, "the first attempt waits the 200 ms spacing");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.IsTrue(first.IsCompleted, "the first attempt goes at 200 ms");
        Assert.IsFalse(second.IsCompleted, "concurrent attempts queue behind each other");
        clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.IsFalse(second.IsCompleted, "the second attempt waits another 200 ms");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.IsTrue(second.IsCompleted, "the second attempt goes at 400 ms");

        throttle.RecordSuccess("mallory");
        Assert.AreEqual(0, throttle.FailureCount("mallory"));
        Assert.IsTrue(throttle.WaitAsync("mallory", CancellationToken.None).IsCompleted, "a success clears the record");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task FailedLogins_AreRecordedInTheThrottle()
    {
        var throttle = new LoginThrottle(TimeProvider.System, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2));
        var (svc, _) = Create(throttle: throttle);
        await FailureOf(svc.AuthenticateAsync(new GuestPasswordCredential("alice", "a"), CancellationToken.None));
        await FailureOf(svc.AuthenticateAsync(new GuestPasswordCredential("alice", "b"), CancellationToken.None));
        Assert.AreEqual(2, throttle.FailureCount("alice"));
        await svc.AuthenticateAsync(new GuestPasswordCredential("alice", "right"), CancellationToken.None);
        Assert.AreEqual(0, throttle.FailureCount("alice"));
    }

    /// <summary>A clock that only moves when told to (the cache only reads the time).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
