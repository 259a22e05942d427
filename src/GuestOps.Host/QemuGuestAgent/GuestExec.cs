namespace GuestOps.Host.QemuGuestAgent;

/// <summary>
/// Runs a program in the guest to its end through guest-exec and guest-exec-status: qemu-ga only reports a finished
/// process when asked, so the status is polled: back to back (each poll is one round trip through the agent) for the
/// first <see cref="EagerPolling"/>, where a one-shot worker run ends, so its end is seen within a round trip rather than
/// up to half a growing sleep later; then after 1, 2, 4 ... ms, at most every 20 ms, so a long run does not flood the agent.
/// </summary>
public static class GuestExec
{
    /// <summary>How long the status is polled without pause.</summary>
    public static readonly TimeSpan EagerPolling = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>The program's final status (exit code or signal, captured stdout and stderr).</summary>
    public static async Task<QgaExecStatus> RunAsync(QgaConnection qga, PollClock clock, string path, IReadOnlyList<string> arguments, ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        var pid = await qga.ExecAsync(path, arguments, input, cancellationToken).ConfigureAwait(false);
        var polling = System.Diagnostics.Stopwatch.StartNew();
        var backoff = new PollBackoff(EagerPolling, MaxPollInterval);
        while (true)
        {
            var status = await qga.ExecStatusAsync(pid, cancellationToken).ConfigureAwait(false);
            if (status.Exited)
            {
                return status;
            }

            await backoff.WaitAsync(polling.Elapsed, clock, cancellationToken).ConfigureAwait(false);
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
