using System.Collections.Concurrent;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// Processes a test class holds with SIGSTOP (a hung worker, a held sandbox init), remembered so that every one of them
/// is continued again — by the test, or at the latest in its cleanup — even when an assertion fails in between.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StoppedProcesses
{
    private readonly ConcurrentDictionary<int, byte> _pids = new();

    public void Stop(int pid)
    {
        _pids[pid] = 0;
        Assert.IsTrue(GuestWorkers.Signal(pid, GuestWorkers.SIGSTOP), $"SIGSTOP {pid}");
    }

    public void Continue(int pid)
    {
        GuestWorkers.Signal(pid, GuestWorkers.SIGCONT);
        _pids.TryRemove(pid, out _);
    }

    public void ContinueAll()
    {
        foreach (var pid in _pids.Keys)
        {
            Continue(pid);
        }
    }
}
