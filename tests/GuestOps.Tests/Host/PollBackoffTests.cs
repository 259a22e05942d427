using GuestOps.Host.QemuGuestAgent;

namespace GuestOps.Tests.Host;

/// <summary>
/// How the qemu-ga provider polls (guest-exec-status of a one-shot run, the resident tools' answer pipe): back to back or
/// at a steady pace while a short run is expected to end, then backing off, bounded, so a long run does not flood the agent.
/// </summary>
[TestClass]
public sealed class PollBackoffTests
{
    [TestMethod]
    public void Next_NoPauseWhileEager_ThenDoublesFromOneMillisecondUpToTheBound()
    {
        var backoff = new PollBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(20));

        Assert.AreEqual(TimeSpan.Zero, backoff.Next(TimeSpan.Zero));
        Assert.AreEqual(TimeSpan.Zero, backoff.Next(TimeSpan.FromMilliseconds(49)), "no sleep while the run is expected to end");
        double[] expected = [1, 2, 4, 8, 16, 20, 20];
        foreach (var ms in expected)
        {
            Assert.AreEqual(TimeSpan.FromMilliseconds(ms), backoff.Next(TimeSpan.FromMilliseconds(60)));
        }

        backoff.Reset();
        Assert.AreEqual(TimeSpan.FromMilliseconds(1), backoff.Next(TimeSpan.FromMilliseconds(60)), "after an answer, the backoff starts again");
    }

    [TestMethod]
    public void Next_WithAPace_WaitsThePaceWhileEager()
    {
        var backoff = new PollBackoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(1));

        Assert.AreEqual(TimeSpan.FromMilliseconds(1), backoff.Next(TimeSpan.Zero), "the resident tools' poller leaves the cores to the guest between polls");
        Assert.AreEqual(TimeSpan.FromMilliseconds(1), backoff.Next(TimeSpan.FromMilliseconds(19)));
        Assert.AreEqual(TimeSpan.FromMilliseconds(1), backoff.Next(TimeSpan.FromMilliseconds(21)));
        Assert.AreEqual(TimeSpan.FromMilliseconds(2), backoff.Next(TimeSpan.FromMilliseconds(22)));
    }
}
