using GuestOps.Host.Sessions;

namespace GuestOps.Tests.Host;

/// <summary>The host agent's sessions: login outcomes, the lockout in front of the password check, touch, expiry,
/// replacement and termination.</summary>
[TestClass]
public sealed class SessionServiceTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private DirectoryInfo _state = null!;
    private UserStore _users = null!;
    private ManualTime _time = null!;
    private HashSet<string> _permitted = null!;

    [TestInitialize]
    public async Task SetUp()
    {
        _state = Directory.CreateTempSubdirectory("guestops-sessions-");
        _users = new UserStore(_state.FullName);
        await _users.SetAsync("root", "Administrator", "secret");
        await _users.SetAsync("nobody", "No permission", "secret");
        _time = new ManualTime(Start);
        _permitted = ["root"];
    }

    [TestCleanup]
    public void TearDown() => _state.Delete(recursive: true);

    private SessionService Service(int failureLimit = 0) =>
        new(_users, new LoginLockout(_time, failureLimit, TimeSpan.FromMinutes(15)), new Policy(_permitted), _time, TimeSpan.FromMinutes(30));

    private static LoginRequest Login(string user, string password, string? replaced = null) =>
        new(user, password, "192.0.2.1", "test", "en", replaced);

    [TestMethod]
    public async Task Login_GivesASessionOnlyForTheRightPassword_AndAPermission()
    {
        var sessions = Service();
        var result = await sessions.LoginAsync(Login("root", "secret"));
        Assert.AreEqual(LoginOutcome.LoggedIn, result.Outcome);
        Assert.AreEqual(("root", "Administrator", "192.0.2.1", 1L), (result.Session!.UserName, result.Session.FullName, result.Session.IpAddress, result.Session.CallCount));
        Assert.AreEqual(36, result.Session.Key.Length, "a GUID-shaped key");

        Assert.AreEqual(new LoginResult(LoginOutcome.InvalidLogin, null), await sessions.LoginAsync(Login("root", "wrong")));
        Assert.AreEqual(new LoginResult(LoginOutcome.InvalidLogin, null), await sessions.LoginAsync(Login("ghost", "secret")));
        Assert.AreEqual(new LoginResult(LoginOutcome.NoPermission, null), await sessions.LoginAsync(Login("nobody", "secret")));
    }

    [TestMethod]
    public async Task Login_LockedOutAfterRepeatedFailures_EvenWithTheRightPassword()
    {
        var sessions = Service(failureLimit: 2);
        await sessions.LoginAsync(Login("root", "wrong"));
        await sessions.LoginAsync(Login("root", "wrong"));
        Assert.AreEqual(LoginOutcome.InvalidLogin, (await sessions.LoginAsync(Login("root", "secret"))).Outcome);
        _time.Now += TimeSpan.FromMinutes(15);
        Assert.AreEqual(LoginOutcome.LoggedIn, (await sessions.LoginAsync(Login("root", "secret"))).Outcome);
    }

    [TestMethod]
    public async Task Find_TouchesCountsAndExpires()
    {
        var sessions = Service();
        var key = (await sessions.LoginAsync(Login("root", "secret"))).Session!.Key;
        _time.Now += TimeSpan.FromMinutes(20);
        var touched = await sessions.FindAsync(key, touch: true);
        Assert.AreEqual((2L, _time.Now.UtcDateTime), (touched!.CallCount, touched.LastActiveTime));
        Assert.AreEqual(2L, (await sessions.FindAsync(key, touch: false))!.CallCount, "a lookup without touch changes nothing");

        _time.Now += TimeSpan.FromMinutes(29);
        Assert.IsNotNull(await sessions.FindAsync(key, touch: false), "idle 29 minutes of 30");
        var other = (await sessions.LoginAsync(Login("root", "secret"))).Session!.Key;
        _time.Now += TimeSpan.FromMinutes(2);
        CollectionAssert.AreEqual(new[] { key }, (await sessions.RemoveExpiredAsync()).ToArray());
        Assert.IsNull(await sessions.FindAsync(key, touch: true));
        Assert.IsNotNull(await sessions.FindAsync(other, touch: true));
    }

    [TestMethod]
    public async Task LoginReplacesTheCallersSession_LogoutAndTerminateEndSessions()
    {
        var sessions = Service();
        var first = (await sessions.LoginAsync(Login("root", "secret"))).Session!.Key;
        var second = (await sessions.LoginAsync(Login("root", "secret", replaced: first))).Session!.Key;
        Assert.IsNull(await sessions.FindAsync(first, touch: false), "the replaced session ended");
        var third = (await sessions.LoginAsync(Login("root", "secret"))).Session!.Key;

        await sessions.LogoutAsync(second);
        Assert.IsNull(await sessions.FindAsync(second, touch: false));
        CollectionAssert.AreEqual(new[] { third }, (await sessions.TerminateAsync([second, third])).ToArray());
        Assert.IsNull(await sessions.FindAsync(third, touch: false));
    }

    private sealed class Policy(IReadOnlySet<string> permitted) : ILoginPolicy
    {
        public ValueTask<bool> MayLogInAsync(string userName, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(permitted.Contains(userName));
    }
}
