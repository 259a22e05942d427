using GuestOps.Host.Sessions;

namespace GuestOps.Tests.Host;

[TestClass]
public sealed class LoginLockoutTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [TestMethod]
    public void LocksOutAfterTheLimit_PerUserAndClient_UntilTheLockoutTimeHasPassed()
    {
        var time = new ManualTime();
        var lockout = new LoginLockout(time, 5, TimeSpan.FromMinutes(15));
        for (var i = 0; i < 4; i++)
        {
            Assert.IsFalse(lockout.IsLockedOut("root", "10.0.0.1"));
            lockout.RecordFailure("root", "10.0.0.1");
        }

        Assert.IsFalse(lockout.IsLockedOut("root", "10.0.0.1"), "4 failures: not yet");
        lockout.RecordFailure("root", "10.0.0.1");
        Assert.IsTrue(lockout.IsLockedOut("root", "10.0.0.1"), "5 failures lock the pair");
        Assert.IsFalse(lockout.IsLockedOut("root", "10.0.0.2"), "another client is not locked out");
        Assert.IsFalse(lockout.IsLockedOut("admin", "10.0.0.1"), "another user is not locked out");

        time.Now += TimeSpan.FromMinutes(14);
        Assert.IsTrue(lockout.IsLockedOut("root", "10.0.0.1"));
        lockout.RecordFailure("root", "10.0.0.1"); // a try while locked restarts the clock
        time.Now += TimeSpan.FromMinutes(14);
        Assert.IsTrue(lockout.IsLockedOut("root", "10.0.0.1"));
        time.Now += TimeSpan.FromMinutes(1);
        Assert.IsFalse(lockout.IsLockedOut("root", "10.0.0.1"), "unlocked once the lockout time has passed since the last failure");
        Assert.AreEqual(0, lockout.Tracked, "an expired record is dropped");
    }

    [TestMethod]
    public void SuccessClearsTheCount_AndOldFailuresExpire()
    {
        var time = new ManualTime();
        var lockout = new LoginLockout(time, 3, TimeSpan.FromSeconds(10));
        lockout.RecordFailure("u", "c");
        lockout.RecordFailure("u", "c");
        lockout.RecordSuccess("u", "c");
        lockout.RecordFailure("u", "c");
        lockout.RecordFailure("u", "c");
        Assert.IsFalse(lockout.IsLockedOut("u", "c"), "the count restarted at the success");
        time.Now += TimeSpan.FromSeconds(11);
        lockout.RecordFailure("u", "c");
        Assert.IsFalse(lockout.IsLockedOut("u", "c"), "failures older than the lockout time no longer count");
    }

    [TestMethod]
    public void ZeroLimit_TurnsTheLockoutOff()
    {
        var lockout = new LoginLockout(new ManualTime(), 0, TimeSpan.FromMinutes(15));
        for (var i = 0; i < 100; i++)
        {
            lockout.RecordFailure("root", "c");
        }

        Assert.IsFalse(lockout.IsLockedOut("root", "c"));
        Assert.AreEqual(0, lockout.Tracked);
    }

    [TestMethod]
    public void MemoryIsBounded_UnderASprayOfNames()
    {
        var time = new ManualTime();
        var lockout = new LoginLockout(time, 5, TimeSpan.FromMinutes(15));
        for (var i = 0; i < LoginLockout.MaxTracked * 3; i++)
        {
            lockout.RecordFailure($"user{i}", "c");
            time.Now += TimeSpan.FromMilliseconds(1);
        }

        Assert.IsTrue(lockout.Tracked <= LoginLockout.MaxTracked, $"{lockout.Tracked} records");
    }
}
