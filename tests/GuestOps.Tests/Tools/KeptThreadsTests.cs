using GuestOps.Tools.Threading;

namespace GuestOps.Tests.Tools;

/// <summary>Blocking work (PAM checks, impersonated operations) runs on threads that are kept, made only as needed.</summary>
[TestClass]
public sealed class KeptThreadsTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task WorkOneAfterAnother_RunsOnOneKeptThread()
    {
        using var threads = new KeptThreads("test", 4);
        Assert.AreEqual(0, threads.ThreadCount, "no thread before work needs one");
        var ids = new HashSet<int>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await threads.RunAsync(() => Environment.CurrentManagedThreadId, TestContext.CancellationToken));
        }

        Assert.AreEqual(1, threads.ThreadCount);
        Assert.AreEqual(1, ids.Count, "every piece of work on the same kept thread");
        Assert.AreNotEqual(Environment.CurrentManagedThreadId, ids.Single());
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task BlockingWorkAtOnce_GetsThreadsUpToTheMaximum_TheRestWaits()
    {
        using var threads = new KeptThreads("test", 2);
        using var release = new ManualResetEventSlim();
        var running = 0;
        var most = 0;
        var work = Enumerable.Range(0, 5).Select(_ => threads.RunAsync(() =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            release.Wait(TestContext.CancellationToken);
            Interlocked.Decrement(ref running);
            return 0;
        }, TestContext.CancellationToken)).ToList();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref running) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5, TestContext.CancellationToken);
        }

        await Task.Delay(50, TestContext.CancellationToken);
        Assert.AreEqual(2, Volatile.Read(ref running), "two run; three wait for a thread");
        release.Set();
        await Task.WhenAll(work);
        Assert.AreEqual(2, threads.ThreadCount);
        Assert.AreEqual(2, most);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task WorkThatThrows_FailsItsTask_AndTheThreadGoesOn()
    {
        using var threads = new KeptThreads("test", 1);
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => threads.RunAsync<int>(() => throw new InvalidOperationException("x"), TestContext.CancellationToken));
        Assert.AreEqual(7, await threads.RunAsync(() => 7, TestContext.CancellationToken));
        Assert.AreEqual(1, threads.ThreadCount);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task WorkCanceledWhileItWaitsForAThread_IsNotRun()
    {
        using var threads = new KeptThreads("test", 1);
        using var release = new ManualResetEventSlim();
        var busy = threads.RunAsync(() =>
        {
            release.Wait(TestContext.CancellationToken);
            return 0;
        }, TestContext.CancellationToken);
        using var cancel = new CancellationTokenSource();
        var ran = false;
        var waiting = threads.RunAsync(() => ran = true, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => waiting);
        release.Set();
        await busy;
        Assert.AreEqual(3, await threads.RunAsync(() => 3, TestContext.CancellationToken));
        Assert.IsFalse(ran);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
