using System.Globalization;
using System.Runtime.InteropServices;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>A process seen from the host: its pid here and its pid in the innermost PID namespace it belongs to.</summary>
public readonly record struct HostProcess(int HostPid, int NamespacePid);

/// <summary>
/// The sandboxed VMs of a test's own server, seen from the host through /proc: the tools worker of a VM (for kill -9
/// and SIGSTOP), its user-namespace id offsets (to create guest files owned as the guest must see them) and its PID
/// namespace. A worker is a process whose /proc/PID/exe is the guestops-tools binary, whose /etc is mounted from a VM
/// directory under the server's state directory and whose /etc/hostname names the VM, so only processes of the test's
/// own server ever match.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static partial class GuestWorkers
{
    public const int SIGKILL = 9;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    private const string WorkerFileName = "guestops-tools";

    /// <summary>The worker processes of VM <paramref name="vmName"/> of the server using <paramref name="stateDirectory"/>
    /// (normally one; none while the VM restarts): guestops-tools processes whose /etc is the bind mount of a VM directory
    /// under that state directory and whose host name file names the VM. (bwrap's own command line names neither: it
    /// reads its arguments from a file.)</summary>
    public static IReadOnlyList<int> Find(string stateDirectory, string vmName)
    {
        var vms = Path.Combine(Path.GetFullPath(stateDirectory), "vms");
        var found = new List<int>();
        foreach (var pid in AllPids())
        {
            var exe = ReadLink($"/proc/{pid}/exe");
            if (exe is null || Path.GetFileName(exe.Replace(" (deleted)", "", StringComparison.Ordinal)) != WorkerFileName)
            {
                continue;
            }

            // /etc's mount root is the VM's guest/etc, relative to the file system it lives on: .../vms/ID/guest/etc.
            if (MountRoot(pid, "/etc") is not { } etc || !etc.EndsWith("/guest/etc", StringComparison.Ordinal))
            {
                continue;
            }

            var vmsOfWorker = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(etc)));
            if (vmsOfWorker is null || Path.GetFileName(vmsOfWorker) != "vms" || !vms.EndsWith(vmsOfWorker, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText($"/proc/{pid}/root/etc/hostname").Trim() == vmName)
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // it exited meanwhile
            }
        }

        return found;
    }

    /// <summary>The root (source path within its file system) of the mount at <paramref name="mountPoint"/> in the process's
    /// mount namespace, from /proc/PID/mountinfo.</summary>
    private static string? MountRoot(int pid, string mountPoint)
    {
        try
        {
            string? root = null;
            foreach (var line in File.ReadLines($"/proc/{pid}/mountinfo"))
            {
                var fields = line.Split(' ');
                if (fields.Length > 4 && fields[4] == mountPoint)
                {
                    root = fields[3].Replace("\\040", " ", StringComparison.Ordinal); // the last one is the one visible
                }
            }

            return root;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Waits (bounded) for exactly one worker of the VM, other than <paramref name="except"/>, that has
    /// connected far enough to be found; returns its host pid.</summary>
    public static async Task<int> WaitForWorkerAsync(string stateDirectory, string vmName, TimeSpan timeout, int? except = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<int> last = [];
        while (clock.Elapsed < timeout)
        {
            last = Find(stateDirectory, vmName).Where(p => p != except).ToList();
            if (last.Count == 1)
            {
                return last[0];
            }

            await Task.Delay(50);
        }

        throw new AssertFailedException(
            $"No single tools worker of {vmName} (state {stateDirectory}) within {timeout.TotalSeconds:0.#} s; found [{string.Join(", ", last)}]"
            + (except is null ? "" : $" besides the old one {except}") + ".");
    }

    /// <summary>The host id that is id 0 in the process's user namespace (uid_map or gid_map: the second column of the
    /// line whose first column is 0); 0 without a user namespace.</summary>
    public static int IdOffset(int pid, bool group = false)
    {
        foreach (var line in File.ReadAllLines($"/proc/{pid}/{(group ? "gid_map" : "uid_map")}"))
        {
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length == 3 && columns[0] == "0")
            {
                return int.Parse(columns[1], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"Process {pid} has no mapping for id 0 in its {(group ? "gid_map" : "uid_map")}.");
    }

    /// <summary>The process's pid in its own (innermost) PID namespace: the last NSpid column of /proc/PID/status.</summary>
    public static int NamespacePid(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
        return int.Parse(line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[^1], CultureInfo.InvariantCulture);
    }

    /// <summary>The PID namespace of a process (the target of /proc/PID/ns/pid, e.g. <c>pid:[4026532301]</c>).</summary>
    public static string PidNamespace(int pid) =>
        ReadLink($"/proc/{pid}/ns/pid") ?? throw new InvalidOperationException($"Cannot read the PID namespace of process {pid}.");

    /// <summary>Every process in a PID namespace, with its host pid and its pid in that namespace.</summary>
    public static IReadOnlyList<HostProcess> ProcessesIn(string pidNamespace)
    {
        var result = new List<HostProcess>();
        foreach (var pid in AllPids())
        {
            if (ReadLink($"/proc/{pid}/ns/pid") != pidNamespace)
            {
                continue;
            }

            try
            {
                result.Add(new HostProcess(pid, NamespacePid(pid)));
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // it exited meanwhile
            }
        }

        return result;
    }

    public static int? ParentPid(int pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ppid ...", comm may contain spaces and parentheses.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    public static List<string>? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Sends a signal; false when the process no longer exists.</summary>
    public static bool Signal(int pid, int signal)
    {
        if (kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == 3 /* ESRCH */ ? false : throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {errno}.");
    }

    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>chown without following symlinks.</summary>
    public static void Chown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
        {
            throw new IOException($"lchown({path}, {uid}, {gid}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private static IEnumerable<int> AllPids()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return pid;
            }
        }
    }

    private static string? ReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int lchown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int owner, int group);
}

/// <summary>
/// Files created from the host inside a VM's writable guest directories (<c>&lt;state&gt;/vms/&lt;id&gt;/guest/tmp</c>
/// is the guest's /tmp), owned as the guest must see them: guest id N is host id (offset + N) in the VM's user
/// namespace.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestFiles(string guestRoot, int uidOffset, int gidOffset)
{
    /// <summary><c>&lt;state&gt;/vms/&lt;id&gt;/guest</c></summary>
    public string GuestRoot { get; } = guestRoot;

    public int UidOffset { get; } = uidOffset;

    public int GidOffset { get; } = gidOffset;

    /// <summary>Where the guest path (absolute, under /tmp, /home, /root, /etc, /var or /run) lives on the host.</summary>
    public string HostPath(string guestPath)
    {
        if (!guestPath.StartsWith('/'))
        {
            throw new ArgumentException($"'{guestPath}' is not an absolute guest path.", nameof(guestPath));
        }

        return Path.Combine(GuestRoot, guestPath.TrimStart('/'));
    }

    public void CreateDirectory(string guestPath, int uid, int gid, UnixFileMode mode)
    {
        var host = HostPath(guestPath);
        System.IO.Directory.CreateDirectory(host);
        System.IO.File.SetUnixFileMode(host, mode);
        Own(host, uid, gid);
    }

    public void CreateFile(string guestPath, string content, int uid, int gid, UnixFileMode mode, DateTime? modifiedUtc = null)
    {
        var host = HostPath(guestPath);
        System.IO.File.WriteAllText(host, content);
        System.IO.File.SetUnixFileMode(host, mode);
        if (modifiedUtc is { } time)
        {
            System.IO.File.SetLastWriteTimeUtc(host, time);
        }

        Own(host, uid, gid);
    }

    public void CreateSymlink(string guestPath, string target, int uid, int gid)
    {
        var host = HostPath(guestPath);
        System.IO.File.CreateSymbolicLink(host, target);
        Own(host, uid, gid);
    }

    private void Own(string hostPath, int uid, int gid) => GuestWorkers.Chown(hostPath, UidOffset + uid, GidOffset + gid);
}
