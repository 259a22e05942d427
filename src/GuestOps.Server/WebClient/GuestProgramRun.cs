using System.Text;
using GuestOps.Server.Http;
using GuestOps.Vim;

namespace GuestOps.Server.WebClient;

/// <summary>How a program run from the web client ended.</summary>
public sealed record GuestProgramOutcome(long Pid, int? ExitCode, bool TimedOut, string Stdout, string Stderr, bool Truncated);

/// <summary>
/// "Run a program and show its output and exit code" over the plain guest operations, as the <c>guestops run</c>
/// command does: two temporary guest files (CreateTemporaryFileInGuest) take stdout and stderr, StartProgramInGuest
/// runs the command line through the guest's shell, ListProcessesInGuest([pid]) is polled until it has an exit
/// code, both files are read through InitiateFileTransferFromGuest and deleted. Every step is a vim call of the
/// browser's session, so each is privilege-checked and audited.
/// </summary>
public sealed class GuestProgramRun(WebVim vim, GuestFileEndpoint files)
{
    /// <summary>How long the page waits for the program before terminating it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>How much of each output file the page shows.</summary>
    public const int MaxShownBytes = 256 * 1024;

    /// <summary>Output files larger than this are not read at all.</summary>
    public const long MaxReadBytes = 16 * 1024 * 1024;

    public async Task<GuestProgramOutcome> RunAsync(HttpContext context, ManagedObjectReference vm, GuestAuthentication auth, string commandLine, bool windowsGuest)
    {
        var outFile = (string)(await vim.GuestAsync(context, "CreateTemporaryFileInGuest", vm, auth, "guestops-ui-", ".stdout", null)).Result!;
        string? errFile = null;
        try
        {
            errFile = (string)(await vim.GuestAsync(context, "CreateTemporaryFileInGuest", vm, auth, "guestops-ui-", ".stderr", null)).Result!;
            var spec = windowsGuest
                ? new GuestProgramSpec { programPath = @"C:\Windows\System32\cmd.exe", arguments = $"/c \"{commandLine} >\"{outFile}\" 2>\"{errFile}\"\"" }
                : new GuestProgramSpec { programPath = "/bin/sh", arguments = $"-c {QuotePosix(commandLine)} >{QuotePosix(outFile)} 2>{QuotePosix(errFile)}" };
            var pid = (long)(await vim.GuestAsync(context, "StartProgramInGuest", vm, auth, spec)).Result!;
            var (exitCode, timedOut) = await WaitAsync(context, vm, auth, pid);
            var (stdout, outTruncated) = await ReadAsync(context, vm, auth, outFile);
            var (stderr, errTruncated) = await ReadAsync(context, vm, auth, errFile);
            return new GuestProgramOutcome(pid, exitCode, timedOut, stdout, stderr, outTruncated || errTruncated);
        }
        finally
        {
            await DeleteAsync(context, vm, auth, outFile);
            if (errFile is not null)
            {
                await DeleteAsync(context, vm, auth, errFile);
            }
        }
    }

    private async Task<(int? ExitCode, bool TimedOut)> WaitAsync(HttpContext context, ManagedObjectReference vm, GuestAuthentication auth, long pid)
    {
        var started = DateTime.UtcNow;
        var delay = TimeSpan.FromMilliseconds(50);
        var timedOut = false;
        while (true)
        {
            var processes = (GuestProcessInfo[])(await vim.GuestAsync(context, "ListProcessesInGuest", vm, auth, new[] { pid })).Result!;
            var process = processes.FirstOrDefault(p => p.pid == pid);
            if (process is null)
            {
                return (null, timedOut);
            }

            if (process.endTime is not null || process.exitCode is not null)
            {
                return (process.exitCode, timedOut);
            }

            if (!timedOut && DateTime.UtcNow - started >= Timeout)
            {
                timedOut = true;
                await vim.GuestAsync(context, "TerminateProcessInGuest", vm, auth, pid);
                continue;
            }

            await Task.Delay(delay, context.RequestAborted);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
        }
    }

    private async Task<(string Text, bool Truncated)> ReadAsync(HttpContext context, ManagedObjectReference vm, GuestAuthentication auth, string path)
    {
        var info = (FileTransferInformation)(await vim.GuestAsync(context, "InitiateFileTransferFromGuest", vm, auth, path)).Result!;
        if (info.size == 0)
        {
            return ("", false);
        }

        if (info.size > MaxReadBytes)
        {
            return ($"({info.size} bytes of output: too large to show here)", true);
        }

        using var body = new MemoryStream();
        var download = new DefaultHttpContext { RequestAborted = context.RequestAborted };
        download.Response.Body = body;
        await files.DownloadAsync(download, info.url);
        if (download.Response.StatusCode != StatusCodes.Status200OK || body.Length != info.size)
        {
            throw new VimFaultException(new SystemError { reason = "output download failed" }, $"Reading the program's output {path} failed: {Encoding.UTF8.GetString(body.ToArray()).Trim()}");
        }

        var truncated = body.Length > MaxShownBytes;
        return (Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)Math.Min(body.Length, MaxShownBytes)), truncated);
    }

    private async Task DeleteAsync(HttpContext context, ManagedObjectReference vm, GuestAuthentication auth, string path)
    {
        try
        {
            await vim.GuestAsync(context, "DeleteFileInGuest", vm, auth, path);
        }
        catch (VimFaultException)
        {
            // Best effort: the temporary file stays in the guest's temp directory.
        }
    }

    /// <summary>A word quoted for the POSIX shell.</summary>
    public static string QuotePosix(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
