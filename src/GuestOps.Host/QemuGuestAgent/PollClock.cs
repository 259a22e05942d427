using System.Diagnostics;

namespace GuestOps.Host.QemuGuestAgent;

/// <summary>
/// The pauses of a millisecond or a few between polls of qemu-ga (the resident tools' answer pipe, a guest-exec's
/// status). Task.Delay cannot make them: the runtime's timers run on its coarse clock (Environment.TickCount64, one
/// kernel tick: 4 ms on a 250 Hz kernel), so a 1 ms Task.Delay lasted about 4.4 ms, and an answer the guest had ready
/// waited that long for the poll that found it. One thread of its own waits on a monitor (whose timeouts are precise:
/// 1.09 ms for 1 ms) until the earliest pause is due, completes every pause that is, and blocks while none is pending.
/// Pauses of <see cref="FineLimit"/> or more go to Task.Delay.
/// </summary>
public sealed class PollClock : IDisposable
{
    /// <summary>Pauses at least this long use Task.Delay: a tick more or less matters little to them.</summary>
    public static readonly TimeSpan FineLimit = TimeSpan.FromMilliseconds(10);

    private readonly object _gate = new();
    private readonly PriorityQueue<Pause, long> _due = new();
    private Thread? _thread;
    private bool _disposed;

    /// <summary>A task that completes after <paramref name="delay"/> (canceled with <paramref name="cancellationToken"/>).</summary>
    public Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return Task.CompletedTask;
        }

        if (delay >= FineLimit)
        {
            return Task.Delay(delay, cancellationToken);
        }

        var pause = new Pause();
        pause.CancelWith(cancellationToken);
        var due = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        lock (_gate)
        {
            if (_disposed)
            {
                pause.Complete();
                return Task.Delay(delay, cancellationToken);
            }

            if (_thread is null)
            {
                // UnsafeStart: the thread serves every VM's polls, so it must not keep the first caller's async-local state.
                var thread = new Thread(Run, 128 * 1024) { IsBackground = true, Name = "guestops-poll-clock" };
                thread.UnsafeStart();
                _thread = thread;
            }

            // The thread waits for the earliest pause: wake it only for an earlier one.
            var earlier = !_due.TryPeek(out _, out var earliest) || due < earliest;
            _due.Enqueue(pause, due);
            if (earlier)
            {
                Monitor.Pulse(_gate);
            }
        }

        return pause.Task;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Run()
    {
        var ready = new List<Pause>();
        while (true)
        {
            lock (_gate)
            {
                while (!_disposed)
                {
                    if (!_due.TryPeek(out _, out var earliest))
                    {
                        Monitor.Wait(_gate);
                        continue;
                    }

                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), earliest);
                    if (wait <= TimeSpan.Zero)
                    {
                        break;
                    }

                    Monitor.Wait(_gate, (int)Math.Ceiling(wait.TotalMilliseconds));
                }

                var now = Stopwatch.GetTimestamp();
                while (_due.TryPeek(out var pause, out var due) && (due <= now || _disposed))
                {
                    ready.Add(_due.Dequeue());
                }
            }

            foreach (var pause in ready)
            {
                pause.Complete();
            }

            ready.Clear();
            lock (_gate)
            {
                if (_disposed && _due.Count == 0)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One pending pause; a canceled one stays queued until it is due, when completing it does nothing.</summary>
    private sealed class Pause
    {
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CancellationTokenRegistration _registration;

        public Task Task => _completion.Task;

        public void CancelWith(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.Register(static p => ((Pause)p!)._completion.TrySetCanceled(), this);
            }
        }

        public void Complete()
        {
            _registration.Dispose();
            _completion.TrySetResult();
        }
    }
}
