using GuestOps.Cluster.Events;
using GuestOps.Host.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// A front end's audit events on their way to the cluster's event history: an append makes no grain call; the events
/// go in batches, in order; a query sends what waits first; what could not be sent waits (bounded) for the next try;
/// once the member runs they go without a query, and the member's stop sends the rest.
/// </summary>
[TestClass]
public sealed class ClusterEventHistoryTests
{
    private readonly Mock<IEventHistoryGrain> _grain = new();
    private readonly List<EventRecord[]> _batches = [];

    private ClusterEventHistory NewHistory(int capacity = 100)
    {
        _grain.Setup(g => g.AppendAsync(It.IsAny<IReadOnlyList<EventRecord>>())).Callback<IReadOnlyList<EventRecord>>(b => _batches.Add(b.ToArray())).Returns(Task.CompletedTask);
        _grain.Setup(g => g.QueryAsync()).Returns(() => Task.FromResult<IReadOnlyList<EventRecord>>(_batches.SelectMany(b => b).ToArray()));
        var grains = new Mock<IGrainFactory>();
        grains.Setup(f => f.GetGrain<IEventHistoryGrain>(0, null)).Returns(_grain.Object);
        return new ClusterEventHistory(grains.Object, new EventHistoryOptions(capacity), NullLogger<ClusterEventHistory>.Instance);
    }

    private static EventRecord Event(string message) =>
        new(0, DateTime.UtcNow, "root", "com.vmware.vc.guestOperations.GuestOperation", "info", message, null, null, [], null);

    private string[] Sent() => _batches.SelectMany(b => b).Select(e => e.Message).ToArray();

    [TestMethod]
    public async Task Appends_MakeNoGrainCall_AQuerySendsThemInOneBatchFirst()
    {
        var history = NewHistory();
        for (var i = 0; i < 10; i++)
        {
            await history.AppendAsync(Event($"e{i}"));
        }

        _grain.Verify(g => g.AppendAsync(It.IsAny<IReadOnlyList<EventRecord>>()), Times.Never());
        var all = await history.QueryAsync();
        Assert.HasCount(1, _batches);
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(i => $"e{i}").ToArray(), all.Select(e => e.Message).ToArray(), "in order, read back at once");
    }

    [TestMethod]
    public async Task EventsNotSent_WaitForTheNextTry_BoundedByTheCapacity()
    {
        var history = NewHistory(capacity: 3);
        await history.AppendAsync(Event("a"));
        await history.AppendAsync(Event("b"));
        _grain.Setup(g => g.AppendAsync(It.IsAny<IReadOnlyList<EventRecord>>())).ThrowsAsync(new TimeoutException());
        await Assert.ThrowsAsync<TimeoutException>(() => history.FlushAsync());
        await history.AppendAsync(Event("c"));
        await history.AppendAsync(Event("d"));

        NewHistorySetupAgain();
        await history.FlushAsync();
        CollectionAssert.AreEqual(new[] { "b", "c", "d" }, Sent(), "kept in order; the oldest went first");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task OnceTheMemberRuns_EventsAreSentWithoutAQuery_AndItsStopSendsWhatWaits()
    {
        var history = NewHistory();
        ILifecycleObserver? observer = null;
        var lifecycle = new Mock<ISiloLifecycle>();
        lifecycle.Setup(l => l.Subscribe(It.IsAny<string>(), ServiceLifecycleStage.Active, It.IsAny<ILifecycleObserver>()))
            .Callback<string, int, ILifecycleObserver>((_, _, o) => observer = o)
            .Returns(Mock.Of<IDisposable>());
        ((ILifecycleParticipant<ISiloLifecycle>)history).Participate(lifecycle.Object);
        await observer!.OnStart(CancellationToken.None);

        await history.AppendAsync(Event("first"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Sent().Length == 0)
        {
            Assert.IsLessThan(ClusterEventHistory.FlushEvery * 50, clock.Elapsed, "sent by the member's own loop");
            await Task.Delay(ClusterEventHistory.FlushEvery / 4);
        }

        await history.AppendAsync(Event("last"));
        await observer.OnStop(CancellationToken.None);
        CollectionAssert.AreEqual(new[] { "first", "last" }, Sent());
    }

    private void NewHistorySetupAgain() =>
        _grain.Setup(g => g.AppendAsync(It.IsAny<IReadOnlyList<EventRecord>>())).Callback<IReadOnlyList<EventRecord>>(b => _batches.Add(b.ToArray())).Returns(Task.CompletedTask);
}
