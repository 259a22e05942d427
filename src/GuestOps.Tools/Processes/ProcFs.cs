using System.Globalization;
using System.Text;
using GuestOps.Tools.Native;

namespace GuestOps.Tools.Processes;

/// <summary>One process as /proc describes it.</summary>
internal sealed record ProcProcess(int Pid, string Name, uint Uid, string CommandLine, DateTimeOffset StartTime, char State, int ProcessGroup);

/// <summary>
/// Reads processes from /proc (world-readable: every user sees every process, as with ps): <c>stat</c> for the
/// name (comm), state, process group and start time (boot time + starttime ticks / CLK_TCK), <c>status</c> for the
/// effective uid (the owner ps shows), <c>cmdline</c> for the command line (arguments joined with spaces; a process
/// without one, such as a kernel thread, shows as <c>[comm]</c>). comm is cut at 15 characters by the kernel;
/// then the executable's base name is used when it can be read and extends it.
/// </summary>
internal static class ProcFs
{
    private const int MaxFile = 256 * 1024;

    internal static string Root { get; set; } = "/proc";

    private static readonly Lazy<long> ClockTicks = new(() =>
    {
        var t = LibC.sysconf(LibC._SC_CLK_TCK);
        return t > 0 ? t : 100;
    });

    private static readonly Lazy<DateTimeOffset> BootTime = new(ReadBootTime);

    /// <summary>The numeric entries of /proc (thread-group ids).</summary>
    public static List<int> ListPids()
    {
        var pids = new List<int>();
        if (PosixFs.OpenDirectory(LibC.Utf8Z(Root), out var dir) != 0)
        {
            return pids;
        }

        using (dir)
        {
            while (dir!.TryReadNext(out _, out var name, out _))
            {
                if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0)
                {
                    pids.Add(pid);
                }
            }
        }

        pids.Sort();
        return pids;
    }

    /// <summary>The process, or null if it does not exist (or vanished while being read).</summary>
    public static ProcProcess? Read(int pid)
    {
        var dir = Root + "/" + pid.ToString(CultureInfo.InvariantCulture);
        if (ReadStat(dir) is not { } stat)
        {
            return null;
        }

        uint uid = 0;
        if (PosixIo.ReadAll(LibC.Utf8Z(dir + "/status"), MaxFile, out var status) == 0)
        {
            uid = ParseEffectiveUid(Encoding.UTF8.GetString(status));
        }
        else if (PosixFs.Stat(LibC.AT_FDCWD, LibC.Utf8Z(dir), follow: false, out var st) == 0)
        {
            uid = st.Uid;
        }
        else
        {
            return null;
        }

        var commandLine = "";
        if (PosixIo.ReadAll(LibC.Utf8Z(dir + "/cmdline"), MaxFile, out var cmdline) == 0)
        {
            commandLine = JoinArguments(cmdline);
        }

        if (commandLine.Length == 0)
        {
            commandLine = "[" + stat.Comm + "]";
        }

        var name = stat.Comm;
        if (name.Length >= 15 && PosixFs.ReadLink(LibC.AT_FDCWD, LibC.Utf8Z(dir + "/exe"), out var exe) == 0 && exe is not null)
        {
            if (exe.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                exe = exe[..^10];
            }

            var baseName = exe[(exe.LastIndexOf('/') + 1)..];
            if (baseName.StartsWith(name, StringComparison.Ordinal))
            {
                name = baseName;
            }
        }

        var start = BootTime.Value.AddTicks(stat.StartTicks * TimeSpan.TicksPerSecond / ClockTicks.Value);
        return new ProcProcess(pid, name, uid, commandLine, start, stat.State, stat.ProcessGroup);
    }

    /// <summary>The state letter of a process (R, S, D, Z, X, ...), or null if it does not exist.</summary>
    public static char? State(int pid) => ReadStat(Root + "/" + pid.ToString(CultureInfo.InvariantCulture))?.State;

    private readonly record struct Stat(string Comm, char State, int ProcessGroup, long StartTicks);

    private static Stat? ReadStat(string dir)
    {
        if (PosixIo.ReadAll(LibC.Utf8Z(dir + "/stat"), 64 * 1024, out var bytes) != 0)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(bytes);
        var open = text.IndexOf('(');
        var close = text.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return null;
        }

        var comm = text[(open + 1)..close];
        // After "(comm) ": state(3) ppid(4) pgrp(5) session(6) ... starttime(22).
        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 20)
        {
            return null;
        }

        _ = int.TryParse(fields[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var pgrp);
        _ = long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var startTicks);
        return new Stat(comm, fields[0].Length > 0 ? fields[0][0] : '?', pgrp, startTicks);
    }

    private static uint ParseEffectiveUid(string status)
    {
        foreach (var line in status.Split('\n'))
        {
            if (!line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                continue;
            }

            var ids = line[4..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            var field = ids.Length > 1 ? ids[1] : ids.Length > 0 ? ids[0] : "0";
            return uint.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) ? uid : 0;
        }

        return 0;
    }

    private static string JoinArguments(byte[] cmdline)
    {
        var length = cmdline.Length;
        while (length > 0 && cmdline[length - 1] == 0)
        {
            length--;
        }

        var text = Encoding.UTF8.GetString(cmdline, 0, length);
        return text.Replace('\0', ' ');
    }

    private static DateTimeOffset ReadBootTime()
    {
        if (PosixIo.ReadAll(LibC.Utf8Z(Root + "/stat"), 1 << 20, out var bytes) == 0)
        {
            foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n'))
            {
                if (line.StartsWith("btime ", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                {
                    return DateTimeOffset.FromUnixTimeSeconds(seconds);
                }
            }
        }

        // No btime: derive it from the uptime (precise enough for start times).
        return DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(Environment.TickCount64);
    }
}
