using GuestOps.Cluster.Sessions;
using GuestOps.Host.Sessions;
using Moq;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// A front end's copy of the cluster's sessions: lookups within <see cref="GrainSessionTable.RecheckAfter"/> make no grain
/// call, the next one asks the grain and passes on the calls counted here; a session ended at another member is refused
/// once the copy is due for a check; one ended here is refused at once.
/// </summary>
[TestClass]
public sealed class GrainSessionTableTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(30);
    private static readonly DateTime Start = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    private static readonly SessionInfo Session = new("key-1", "root", "Administrator", Start, Start, "127.0.0.1", "pyVmomi", "en", 1);

    private readonly Mock<ISessionGrain> _grain = new();
    private readonly List<long> _calls = [];
    private SessionInfo? _stored;

    private GrainSessionTable NewTable()
    {
        _grain.Setup(g => g.StartAsync(It.IsAny<SessionInfo>())).Callback<SessionInfo>(s => _stored = s).Returns(Task.CompletedTask);
        _grain.Setup(g => g.FindAsync(It.IsAny<long>(), It.IsAny<DateTime>(), It.IsAny<TimeSpan>())).Returns<long, DateTime, TimeSpan>((calls, now, _) =>
        {
            _calls.Add(calls);
            if (_stored is { } s && calls > 0)
            {
                _stored = s with { LastActiveTime = now, CallCount = s.CallCount + calls };
            }

            return Task.FromResult(_stored);
        });
        _grain.Setup(g => g.EndAsync()).Returns(() =>
        {
            var ended = _stored is not null;
            _stored = null;
            return Task.FromResult(ended);
        });
        var grains = new Mock<IGrainFactory>();
        grains.Setup(f => f.GetGrain<ISessionGrain>(Session.Key, null)).Returns(_grain.Object);
        return new GrainSessionTable(grains.Object);
    }

    [TestMethod]
    public async Task Lookups_WithinRecheckAfter_MakeNoGrainCall_TheNextPassesOnTheCallsCountedHere()
    {
        var table = NewTable();
        await table.AddAsync(Session);
        var step = GrainSessionTable.RecheckAfter / 100;
        SessionInfo? found = null;
        for (var i = 1; i < 100; i++)
        {
            found = await table.FindAsync(Session.Key, touch: true, Start + step * i, Idle);
        }

        Assert.IsEmpty(_calls, "answered from the copy");
        Assert.AreEqual((100L, Start + step * 99), (found!.CallCount, found.LastActiveTime), "touched and counted here");

        found = await table.FindAsync(Session.Key, touch: true, Start + GrainSessionTable.RecheckAfter, Idle);
        CollectionAssert.AreEqual(new[] { 100L }, _calls, "one grain call, with the 99 calls answered here and this one");
        Assert.AreEqual((101L, Start + GrainSessionTable.RecheckAfter), (found!.CallCount, found.LastActiveTime));
        Assert.AreEqual(_stored, found);
    }

    [TestMethod]
    public async Task ASessionEndedAtAnotherMember_IsRefusedOnceTheCopyIsDue_OneEndedHereAtOnce()
    {
        var table = NewTable();
        await table.AddAsync(Session);
        _stored = null; // Logout at another front end

        Assert.IsNotNull(await table.FindAsync(Session.Key, touch: true, Start + GrainSessionTable.RecheckAfter / 2, Idle), "within the bound, the copy answers");
        Assert.IsNull(await table.FindAsync(Session.Key, touch: true, Start + GrainSessionTable.RecheckAfter, Idle), "refused at the bound");
        Assert.IsNull(await table.FindAsync(Session.Key, touch: false, Start + GrainSessionTable.RecheckAfter, Idle), "and the copy is gone");

        var second = NewTable();
        await second.AddAsync(Session);
        Assert.IsTrue(await second.RemoveAsync(Session.Key));
        Assert.IsNull(await second.FindAsync(Session.Key, touch: true, Start, Idle), "ended here: refused at once");
    }

    [TestMethod]
    public async Task ACopyIdleTooLong_IsNotAnswered_TheGrainDecides()
    {
        var table = NewTable();
        await table.AddAsync(Session);
        var shortIdle = GrainSessionTable.RecheckAfter / 4;
        await table.FindAsync(Session.Key, touch: false, Start + shortIdle * 2, shortIdle);
        CollectionAssert.AreEqual(new[] { 0L }, _calls, "a copy idle for longer than the timeout is checked at the grain, even when recent");
    }
}
