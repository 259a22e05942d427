using System.Globalization;
using System.Runtime.InteropServices;

namespace GuestOps.Benchmarks;

/// <summary>Memory of one process from /proc/PID/status and /proc/PID/smaps_rollup, in KiB.</summary>
internal sealed record ProcessMemory(long VmRssKiB, long RssAnonKiB, long RssFileKiB, long RssShmemKiB, long VmHwmKiB, long PssKiB, long PrivateKiB, int Threads)
{
    public static double MiB(long kib) => kib / 1024.0;
}

/// <summary>What the benchmark reads about other processes (the tools workers) through /proc.</summary>
internal static partial class ProcFs
{
    public const int SIGTERM = 15;

    /// <summary>VmRSS, RssAnon, RssFile, RssShmem, VmHWM and Threads of /proc/PID/status; Pss and private pages of
    /// /proc/PID/smaps_rollup (0 where the kernel has none).</summary>
    public static ProcessMemory Memory(int pid)
    {
        var status = Fields($"/proc/{pid}/status");
        var rollup = File.Exists($"/proc/{pid}/smaps_rollup") ? Fields($"/proc/{pid}/smaps_rollup") : [];
        long Kib(Dictionary<string, long> fields, string name) => fields.GetValueOrDefault(name);
        return new ProcessMemory(
            Kib(status, "VmRSS"), Kib(status, "RssAnon"), Kib(status, "RssFile"), Kib(status, "RssShmem"), Kib(status, "VmHWM"),
            Kib(rollup, "Pss"), Kib(rollup, "Private_Clean") + Kib(rollup, "Private_Dirty"), (int)Kib(status, "Threads"));
    }

    /// <summary>User + system CPU seconds of live processes (utime + stime of /proc/PID/stat); exited ones count 0.</summary>
    public static double CpuSeconds(IReadOnlyList<int> pids)
    {
        long ticks = 0;
        foreach (var pid in pids)
        {
            if (StatFields(pid) is { } f)
            {
                // After "pid (comm) ": state is index 0, utime index 11, stime index 12.
                ticks += long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
            }
        }

        return ticks / 100.0; // USER_HZ
    }

    public static int? ParentPid(int pid) => StatFields(pid) is { } f ? int.Parse(f[1], CultureInfo.InvariantCulture) : null;

    /// <summary>The process and every live descendant (a sandbox: unshare/bwrap, the inner bwrap, the worker).</summary>
    public static IReadOnlyList<int> Tree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var pid in AllPids())
        {
            if (ParentPid(pid) is { } parent)
            {
                (children.TryGetValue(parent, out var list) ? list : children[parent] = []).Add(pid);
            }
        }

        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
        {
            var pid = queue.Dequeue();
            result.Add(pid);
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                queue.Enqueue(child);
            }
        }

        return result;
    }

    /// <summary>The first process of the tree whose executable is named <paramref name="fileName"/>.</summary>
    public static int? FindInTree(int root, string fileName) =>
        Tree(root).Cast<int?>().FirstOrDefault(pid => ExecutableName(pid!.Value) == fileName);

    public static string? ExecutableName(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/exe").LinkTarget is { } target ? Path.GetFileName(target.Replace(" (deleted)", "", StringComparison.Ordinal)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The host id that is id 0 in the process's user namespace (second column of the uid_map or gid_map
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

        throw new InvalidOperationException($"Process {pid} maps no id 0 in its {(group ? "gid_map" : "uid_map")}.");
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>Sends SIGTERM; false when the process is gone.</summary>
    public static bool Terminate(int pid) => kill(pid, SIGTERM) == 0;

    public static void Chown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
        {
            throw new IOException($"lchown({path}, {uid}, {gid}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private static Dictionary<string, long> Fields(string path)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var value = line[(colon + 1)..].Trim();
            var space = value.IndexOf(' ', StringComparison.Ordinal);
            if (long.TryParse(space < 0 ? value : value[..space], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            {
                result[line[..colon]] = n;
            }
        }

        return result;
    }

    /// <summary>The fields of /proc/PID/stat after "pid (comm) " (comm may hold spaces and parentheses).</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return null;
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

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, int owner, int group);
}
