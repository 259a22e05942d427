namespace GuestOps.Host.QemuGuestAgent;

/// <summary>The pause before the next poll: <c>pace</c> (none by default) while <c>eager</c> has not passed, then 1, 2,
/// 4 ... ms up to <c>max</c>.</summary>
public sealed class PollBackoff(TimeSpan eager, TimeSpan max, TimeSpan pace = default)
{
    private TimeSpan _delay = TimeSpan.Zero;

    /// <summary>The next pause after polling for <paramref name="elapsed"/> without an answer.</summary>
    public TimeSpan Next(TimeSpan elapsed)
    {
        if (elapsed < eager)
        {
            return pace;
        }

        _delay = _delay == TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, max.Ticks));
        return _delay;
    }

    /// <summary>Starts again eagerly (an answer came).</summary>
    public void Reset() => _delay = TimeSpan.Zero;

    /// <summary>Waits the next pause on <paramref name="clock"/> (Task.Delay would make a 1 ms pause last a kernel tick).</summary>
    public Task WaitAsync(TimeSpan elapsed, PollClock clock, CancellationToken cancellationToken) =>
        Next(elapsed) is { Ticks: > 0 } delay ? clock.DelayAsync(delay, cancellationToken) : Task.CompletedTask;
}
