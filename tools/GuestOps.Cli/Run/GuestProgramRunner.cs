using System.Diagnostics;
using System.ServiceModel;
using GuestOps.Cli.Transfers;
using GuestOps.Cli.Vim;

namespace GuestOps.Cli.Run;

/// <summary>What to run and how to wait.</summary>
public sealed record GuestRunRequest(IReadOnlyList<string> Command, string? WorkingDirectory, string[]? Environment, TimeSpan? Timeout, bool Stream, TimeSpan PollInterval);

/// <summary>How it ended: the exit code ListProcessesInGuest reported (128+n for signal n), or a timeout.</summary>
public sealed record GuestRunResult(long Pid, int ExitCode, bool TimedOut);

/// <summary>
/// "Run a program and give me its output and exit code", as PowerCLI's Invoke-VMScript does it over the plain API:
/// two temporary guest files (CreateTemporaryFileInGuest) take stdout and stderr, StartProgramInGuest starts the
/// program, ListProcessesInGuest([pid]) is polled until the program has an exit code, both files are downloaded
/// through their /guestFile URLs and deleted.
///
/// With <see cref="GuestRunRequest.Stream"/>, output is shown while the program runs: at every poll, each file's
/// current size is read with InitiateFileTransferFromGuest and, when it grew, the file is downloaded again and only
/// the bytes past what was already printed are written out. vim25 has no ranged or tailing read, so each poll moves
/// the whole file: fine for logs and build output, wasteful for a program that writes hundreds of megabytes.
/// </summary>
public sealed class GuestProgramRunner(GuestOperations guest, GuestFileTransfer transfers)
{
    public async Task<GuestRunResult> RunAsync(GuestRunRequest request, Stream stdout, Stream stderr, CancellationToken cancellationToken)
    {
        var family = (await guest.Connection.PropertiesAsync(guest.Vm, ["guest.guestFamily"], cancellationToken))
            .GetValueOrDefault("guest.guestFamily") as string;
        var outFile = await guest.CreateTemporaryFileAsync("guestops-run-", ".stdout", null, cancellationToken);
        string? errFile = null;
        long? pid = null;
        try
        {
            errFile = await guest.CreateTemporaryFileAsync("guestops-run-", ".stderr", null, cancellationToken);
            var spec = family == "windowsGuest"
                ? GuestCommandLine.Windows(request.Command, outFile, errFile, request.WorkingDirectory, request.Environment)
                : GuestCommandLine.Posix(request.Command, outFile, errFile, request.WorkingDirectory, request.Environment);
            pid = await guest.StartProgramAsync(spec, cancellationToken);
            var output = new[] { new OutputFile(outFile, stdout), new OutputFile(errFile, stderr) };
            var (exitCode, timedOut) = await WaitAsync(pid.Value, request, output, cancellationToken);
            foreach (var file in output)
            {
                await file.PumpAsync(guest, transfers, final: true, cancellationToken);
            }

            return new GuestRunResult(pid.Value, exitCode, timedOut);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && pid is not null)
        {
            await BestEffortAsync(ct => guest.TerminateProcessAsync(pid.Value, ct));
            throw;
        }
        finally
        {
            await BestEffortAsync(ct => guest.DeleteFileAsync(outFile, ct));
            if (errFile is not null)
            {
                await BestEffortAsync(ct => guest.DeleteFileAsync(errFile, ct));
            }
        }
    }

    private async Task<(int ExitCode, bool TimedOut)> WaitAsync(long pid, GuestRunRequest request, OutputFile[] output, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(50);
        var timedOut = false;
        while (true)
        {
            var process = (await guest.ListProcessesAsync([pid], cancellationToken)).FirstOrDefault(p => p.pid == pid)
                ?? throw new CliException($"The guest no longer lists program {pid}: its exit code is lost.");
            if (process.endTime is not null || process.exitCode is not null)
            {
                return (process.exitCode ?? 0, timedOut);
            }

            if (!timedOut && request.Timeout is { } limit && clock.Elapsed >= limit)
            {
                timedOut = true;
                await guest.TerminateProcessAsync(pid, cancellationToken);
                continue;
            }

            if (request.Stream)
            {
                foreach (var file in output)
                {
                    await file.PumpAsync(guest, transfers, final: false, cancellationToken);
                }
            }

            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, request.PollInterval.Ticks));
        }
    }

    private static async Task BestEffortAsync(Func<CancellationToken, Task> action)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await action(timeout.Token);
        }
        catch (Exception e) when (e is CommunicationException or TimeoutException or HttpRequestException or OperationCanceledException or CliException)
        {
        }
    }

    /// <summary>One guest output file and how much of it was written out already.</summary>
    private sealed class OutputFile(string path, Stream destination)
    {
        private long _written;

        public async Task PumpAsync(GuestOperations guest, GuestFileTransfer transfers, bool final, CancellationToken cancellationToken)
        {
            try
            {
                var info = await guest.InitiateFileTransferFromGuestAsync(path, cancellationToken);
                if (info.size <= _written)
                {
                    return;
                }

                _written = await transfers.DownloadAsync(info.url, destination, info.size, $"output {path}", cancellationToken, skip: _written);
                await destination.FlushAsync(cancellationToken);
            }
            catch (CliException) when (!final)
            {
                // The file grew between Initiate and GET (the server refuses a changed file): the next poll gets it.
            }
        }
    }
}
