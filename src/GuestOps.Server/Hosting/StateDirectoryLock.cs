using System.Globalization;
using System.Text;

namespace GuestOps.Server.Hosting;

/// <summary>
/// One server at a time per state directory: an exclusive, non-blocking OS lock on <see cref="FileName"/> (flock on Linux,
/// a share-none open on Windows), held while this object lives. The OS releases it when the process ends, however it ends,
/// so a crash never leaves a stale lock. The holder's process id is written to <see cref="FileName"/> and
/// <see cref="ProcessIdFileName"/> (the latter readable while the lock is held), so the next server's message names it.
/// </summary>
public sealed class StateDirectoryLock : IDisposable
{
    public const string FileName = "guestops.lock";

    public const string ProcessIdFileName = "guestops.pid";

    private readonly FileStream _stream;

    private StateDirectoryLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock of an existing state directory, or throws <see cref="StateDirectoryInUseException"/>.</summary>
    public static StateDirectoryLock Acquire(string stateDirectory)
    {
        var full = Path.GetFullPath(stateDirectory);
        var lockFile = Path.Combine(full, FileName);
        var processIdFile = Path.Combine(full, ProcessIdFileName);
        FileStream stream;
        try
        {
            stream = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            var holder = ReadProcessId(processIdFile) is { } pid ? $"process {pid}{ProcessName(pid)}" : "another process";
            throw new StateDirectoryInUseException(
                $"the state directory {full} is in use by another GuestOps server ({holder}, which holds the lock on {lockFile}). "
                + "Stop that server first, or give this one a state directory of its own (--state-dir DIR or GUESTOPS_STATE_DIR).");
        }

        var text = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        stream.SetLength(0);
        stream.Write(text);
        stream.Flush();
        File.WriteAllBytes(processIdFile, text);
        return new StateDirectoryLock(stream);
    }

    public void Dispose() => _stream.Dispose();

    private static int? ReadProcessId(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string ProcessName(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return $" ({process.ProcessName})";
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }
}
