using System.Diagnostics;
using GuestOps.Host.QemuGuestAgent;

namespace GuestOps.Tests.Host;

/// <summary>The pauses between polls of qemu-ga: due in order, never early, cancelable, on one thread.</summary>
[TestClass]
public sealed class PollClockTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task Pauses_EndNoEarlierThanAsked_InTheOrderTheyAreDue()
    {
        using var clock = new PollClock();
        var order = new List<int>();
        var started = Stopwatch.GetTimestamp();
        var pauses = new[] { 6, 1, 3 }.Select(async ms =>
        {
            await clock.DelayAsync(TimeSpan.FromMilliseconds(ms), TestContext.CancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            lock (order)
            {
                order.Add(ms);
            }

            Assert.IsTrue(elapsed >= TimeSpan.FromMilliseconds(ms), $"{ms} ms pause ended after {elapsed.TotalMilliseconds:F2} ms");
        }).ToList();
        await Task.WhenAll(pauses);
        CollectionAssert.AreEqual(new[] { 1, 3, 6 }, order);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task APause_IsCanceledWithItsToken()
    {
        using var clock = new PollClock();
        using var cancel = new CancellationTokenSource();
        var pause = clock.DelayAsync(TimeSpan.FromMilliseconds(9), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => pause);
        await clock.DelayAsync(TimeSpan.FromMilliseconds(1), TestContext.CancellationToken); // the clock goes on
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task ManyShortPauses_AreFarShorterThanAnEqualNumberOfCoarseTicks()
    {
        // 100 pauses of 1 ms one after another: about 110 ms on a monitor's precise timeout; a runtime timer per pause
        // would take a kernel tick each (400 ms at 250 Hz). Bound: 380 ms, between the two.
        using var clock = new PollClock();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            await clock.DelayAsync(TimeSpan.FromMilliseconds(1), TestContext.CancellationToken);
        }

        Assert.IsTrue(watch.Elapsed >= TimeSpan.FromMilliseconds(100));
        Assert.IsTrue(watch.Elapsed < TimeSpan.FromMilliseconds(380), $"100 pauses of 1 ms took {watch.Elapsed.TotalMilliseconds:F0} ms");
    }
}
