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
    public async Task Pauses_EndNoEarlierThanAsked()
    {
        using var clock = new PollClock();
        var pauses = new[] { 6, 1, 3 }.Select(async ms =>
        {
            var started = Stopwatch.GetTimestamp();
            await clock.DelayAsync(TimeSpan.FromMilliseconds(ms), TestContext.CancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Assert.IsTrue(elapsed >= TimeSpan.FromMilliseconds(ms), $"{ms} ms pause ended after {elapsed.TotalMilliseconds:F2} ms");
        }).ToList();
        await Task.WhenAll(pauses);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task APause_IsCanceledWithItsToken_AndTheClockGoesOn()
    {
        using var clock = new PollClock();
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => clock.DelayAsync(TimeSpan.FromMilliseconds(5), cancel.Token));
        await clock.DelayAsync(TimeSpan.FromMilliseconds(1), TestContext.CancellationToken);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ShortPauses_AreShorterThanTheRuntimesTimers_WhereThoseRunOnACoarseTick()
    {
        // A runtime timer runs on the coarse clock: a 1 ms Task.Delay lasts up to a kernel tick (4.4 ms median at
        // 250 Hz); a pause on the clock's monitor about 1.1 ms. Medians of 50, side by side, so load slows both.
        using var clock = new PollClock();
        var coarse = await MedianAsync(() => Task.Delay(1, TestContext.CancellationToken));
        if (coarse < 2)
        {
            Assert.Inconclusive($"Task.Delay(1) lasts {coarse:F2} ms here (a fine kernel tick): nothing to compare.");
        }

        var fine = await MedianAsync(() => clock.DelayAsync(TimeSpan.FromMilliseconds(1), TestContext.CancellationToken));
        Assert.IsTrue(fine < coarse * 0.75, $"median pause: clock {fine:F2} ms, Task.Delay {coarse:F2} ms");
    }

    private static async Task<double> MedianAsync(Func<Task> pause)
    {
        var lasted = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await pause();
            lasted.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        lasted.Sort();
        return lasted[25];
    }
}
