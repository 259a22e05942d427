using System.Diagnostics;

namespace GuestOps.Host.Providers;

/// <summary>
/// Each VM is a bubblewrap sandbox: its own PID, mount, UTS and IPC namespaces and host name; the host's /usr
/// read-only; its own writable /etc, /home, /root, /tmp, /var; the channel directory bind-mounted at
/// /run/guestops; the worker binary read-only at /opt/guestops/guestops-tools.
/// When /etc/subuid and /etc/subgid grant root a range (e.g. <c>root:100000:65536000</c>) and newuidmap is
/// installed, the sandbox also gets a user namespace: guest uid 0 is host uid <c>base + index * 65536</c>, so guest
/// root is not host root and two VMs do not share host ids — as long as the range has a 65536-id slot for every VM:
/// beyond that, slots are reused (VM i and VM i + slots share host ids, still in separate PID and mount namespaces
/// with separate files), and the host agent logs a warning naming the limit. Otherwise guest root is host root with every capability
/// dropped except those the worker needs to impersonate users and manage their files and processes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SandboxVmProvider : IVmProvider
{
    /// <summary>The file in the VM directory (not visible in the guest) bwrap reads its arguments from.</summary>
    public const string ArgumentFileName = "bwrap.args";

    private const int IdsPerVm = 65536;
    private static readonly string[] WorkerCapabilities =
        ["CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_KILL", "CAP_AUDIT_WRITE"];

    private readonly (int Start, int Count)? _uidRange;
    private readonly (int Start, int Count)? _gidRange;

    /// <param name="guestIdRange">The host ids of the guests' user namespaces: null or <c>auto</c> for root's largest
    /// range in /etc/subuid and /etc/subgid (when uidmap is installed), <c>none</c> for no user namespace, or
    /// <c>START:COUNT</c> (COUNT at least 65536; within root's subordinate ranges, which newuidmap checks).</param>
    /// <param name="bwrapPath">bubblewrap.</param>
    /// <param name="qemuGuestAgentPath">Null: each guest runs the worker as its agent (provider <c>sandbox</c>). Set: each
    /// guest's only agent is this qemu-guest-agent listening on <see cref="GuestImage.QemuGuestAgentSocket"/>, with no worker
    /// in the image (provider <c>qemu-ga</c>): the host agent pushes the tools through it.</param>
    public SandboxVmProvider(string? guestIdRange = null, string bwrapPath = "/usr/bin/bwrap", string? qemuGuestAgentPath = null)
    {
        BwrapPath = bwrapPath;
        QemuGuestAgentPath = qemuGuestAgentPath;
        switch (guestIdRange?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                if (File.Exists("/usr/bin/newuidmap") && File.Exists("/usr/bin/unshare"))
                {
                    _uidRange = SubordinateRange("/etc/subuid");
                    _gidRange = SubordinateRange("/etc/subgid");
                }

                break;
            case "none":
                break;
            case var text:
                var parts = text.Split(':');
                if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var start)
                    || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
                    || start < 1 || count < IdsPerVm || (long)start + count > int.MaxValue)
                {
                    throw new ArgumentException($"'{guestIdRange}' is not auto, none or START:COUNT (host ids, COUNT at least {IdsPerVm}).", nameof(guestIdRange));
                }

                _uidRange = _gidRange = (start, count);
                break;
        }
    }

    public string Name => QemuGuestAgentPath is null ? "sandbox" : "qemu-ga";

    public string BwrapPath { get; }

    /// <summary>Debian's qemu-ga binary (it lives under /usr, which every guest shares read-only).</summary>
    public const string DefaultQemuGuestAgentPath = "/usr/sbin/qemu-ga";

    public string? QemuGuestAgentPath { get; }

    public string? AgentSocket(VmLaunch launch) => QemuGuestAgentPath is null ? null : GuestImage.QemuGuestAgentSocketOnHost(launch);

    public bool UsesUserNamespace => _uidRange is not null && _gidRange is not null;

    public string Isolation => (QemuGuestAgentPath is null ? "" : "guest agent: qemu-guest-agent only, the tools are pushed through it; ") + (UsesUserNamespace
        ? "bubblewrap sandbox per VM: own PID/mount/UTS/IPC/user namespaces; guest root is an unprivileged host uid range; host /usr read-only"
        : "bubblewrap sandbox per VM: own PID/mount/UTS/IPC namespaces; guest root is host root with only the worker's capabilities (no user namespace: add root ranges to /etc/subuid and /etc/subgid and install uidmap)");

    public static bool IsAvailable(string bwrapPath = "/usr/bin/bwrap") => File.Exists(bwrapPath);

    /// <summary>VMs that get host ids of their own: 65536-id slots in the smaller of root's subuid and subgid ranges.</summary>
    public int IdSlots => UsesUserNamespace ? Math.Max(1, Math.Min(_uidRange!.Value.Count, _gidRange!.Value.Count) / IdsPerVm) : 0;

    public string? IsolationLimit(int vmCount) => UsesUserNamespace && vmCount > IdSlots
        ? $"/etc/subuid and /etc/subgid grant root {IdSlots} slot(s) of {IdsPerVm} ids, for {vmCount} VMs: VM i and VM i+{IdSlots} share host uids and gids "
          + "(their guests stay in separate PID and mount namespaces with separate files); grant root a larger range for one slot per VM"
        : null;

    /// <summary>What guest uid 0 is on the host for the VM with this index.</summary>
    public int HostIdOffset(int index) => UsesUserNamespace ? _uidRange!.Value.Start + Slot(index, _uidRange.Value.Count) * IdsPerVm : 0;

    public Process Start(VmLaunch launch)
    {
        var offset = HostIdOffset(launch.Index);
        GuestImage.Prepare(launch, offset);
        if (QemuGuestAgentPath is not null)
        {
            GuestImage.PrepareQemuGuestAgent(launch, offset);
        }

        var vm = launch.VmDirectory;
        var args = new List<string>
        {
            "--die-with-parent", "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--hostname", launch.VmName,
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
            "--proc", "/proc", "--dev", "/dev",
            "--bind", Path.Combine(vm, "etc"), "/etc",
            "--bind", Path.Combine(vm, "home"), "/home",
            "--bind", Path.Combine(vm, "root"), "/root",
            "--bind", Path.Combine(vm, "tmp"), "/tmp",
            "--bind", Path.Combine(vm, "var"), "/var",
            "--bind", Path.Combine(vm, "run"), "/run",
            "--chdir", "/",
            "--setenv", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--setenv", "HOME", "/root",
        };
        if (!UsesUserNamespace)
        {
            args.AddRange(["--cap-drop", "ALL"]);
            foreach (var cap in WorkerCapabilities)
            {
                args.AddRange(["--cap-add", cap]);
            }
        }

        // The guest's agent: qemu-ga alone (provider qemu-ga: the host pushes the tools through it), or the worker.
        List<string> agent;
        if (QemuGuestAgentPath is not null)
        {
            agent = [QemuGuestAgentPath, "-m", "unix-listen", "-p", GuestImage.QemuGuestAgentSocket,
                "-t", GuestImage.QemuGuestAgentStateDirectory, "-f", GuestImage.QemuGuestAgentStateDirectory + "/qemu-ga.pid"];
        }
        else
        {
            args.AddRange(["--bind", launch.ChannelDirectory, "/run/guestops", "--ro-bind", launch.WorkerPath, "/opt/guestops/guestops-tools"]);
            agent = ["/opt/guestops/guestops-tools", "--connect", "unix:/run/guestops/channel.sock", "--pam-service", GuestImage.PamService];
            agent.AddRange(GuestImage.SspiWorkerArguments(launch.VmName, launch.Kerberos));
            agent.AddRange(launch.WorkerArguments);
        }

        // bwrap stays in the guest as its PID 1 with its own command line: its options, which name host paths, go
        // through a file the shell opens as fd 3 (bwrap --args 3 reads and closes it), so the guest's ps shows only the
        // agent's command, which names guest paths only.
        var argumentFile = Path.Combine(vm, ArgumentFileName);
        using (var stream = new FileStream(argumentFile, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = (UnixFileMode)0b110_000_000 }))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(string.Concat(args.Select(a => a + "\0"))));
        }

        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true, // closing it (our exit) ends the sandbox through --die-with-parent's pipe too
            RedirectStandardOutput = false,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        List<string> command = ["-c", "exec 3<\"$0\" && exec \"$@\"", argumentFile];
        if (UsesUserNamespace)
        {
            var gidOffset = _gidRange!.Value.Start + Slot(launch.Index, _gidRange.Value.Count) * IdsPerVm;
            command.AddRange(["/usr/bin/unshare", "--user", $"--map-users={offset},0,{IdsPerVm}", $"--map-groups={gidOffset},0,{IdsPerVm}", "--setuid", "0", "--setgid", "0", "--"]);
        }

        command.AddRange([BwrapPath, "--args", "3", "--", .. agent]);
        foreach (var arg in command)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("bwrap did not start.");
    }

    /// <summary>
    /// Root's guest id range, as <c>auto</c> takes it, cut into <paramref name="parts"/> ranges of whole VM slots
    /// (<c>START:COUNT</c> each, for <c>GuestOps:GuestIdRange</c>), so that host agents sharing this machine give their VMs
    /// host ids of their own. Null when there is nothing to cut: no uidmap, no range for root, subuid and subgid ranges
    /// that differ (one <c>START:COUNT</c> names both), or fewer slots than parts.
    /// </summary>
    public static IReadOnlyList<string>? SplitGuestIdRange(int parts, string subuid = "/etc/subuid", string subgid = "/etc/subgid", string newuidmap = "/usr/bin/newuidmap")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        if (!File.Exists(newuidmap) || SubordinateRange(subuid) is not { } uids || SubordinateRange(subgid) != uids)
        {
            return null;
        }

        var slots = uids.Count / IdsPerVm / parts;
        return slots < 1
            ? null
            : Enumerable.Range(0, parts).Select(i => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{uids.Start + i * slots * IdsPerVm}:{slots * IdsPerVm}")).ToArray();
    }

    private static int Slot(int index, int count) => count / IdsPerVm <= 1 ? 0 : index % (count / IdsPerVm);

    /// <summary>The largest range /etc/subuid (or subgid) grants root, if it holds at least one VM's ids.</summary>
    private static (int Start, int Count)? SubordinateRange(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        (int Start, int Count)? best = null;
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split(':');
            if (parts.Length == 3 && (parts[0] == "root" || parts[0] == "0")
                && int.TryParse(parts[1], out var start) && int.TryParse(parts[2], out var count) && count >= IdsPerVm
                && (best is null || count > best.Value.Count))
            {
                best = (start, count);
            }
        }

        return best;
    }
}
