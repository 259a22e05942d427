namespace GuestOps.Host.QemuGuestAgent;

/// <summary>
/// Runs a program in the guest to its end through guest-exec and guest-exec-status: qemu-ga only reports a finished
/// process when asked, so the status is polled — at once, then after 1, 2, 4 ... ms, at most every 20 ms, which keeps a
/// short run (the one-shot worker answers in a few ms) short without flooding the agent while a long one runs.
/// </summary>
public static class GuestExec
{
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>The program's final status (exit code or signal, captured stdout and stderr).</summary>
    public static async Task<QgaExecStatus> RunAsync(QgaConnection qga, string path, IReadOnlyList<string> arguments, ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        var pid = await qga.ExecAsync(path, arguments, input, cancellationToken).ConfigureAwait(false);
        var delay = TimeSpan.Zero;
        while (true)
        {
            var status = await qga.ExecStatusAsync(pid, cancellationToken).ConfigureAwait(false);
            if (status.Exited)
            {
                return status;
            }

            delay = delay == TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxPollInterval.Ticks));
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A short description of how the program ended, for messages.</summary>
    public static string Describe(QgaExecStatus status)
    {
        var how = status.Signal is { } signal ? $"killed by signal {signal}" : $"exit code {status.ExitCode}";
        var error = System.Text.Encoding.UTF8.GetString(status.Error).Trim();
        return error.Length == 0 ? how : $"{how}: {(error.Length > 500 ? error[..500] + "..." : error)}";
    }
}
