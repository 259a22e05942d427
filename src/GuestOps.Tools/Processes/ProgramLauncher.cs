using System.Runtime.InteropServices;
using System.Text;
using GuestOps.Tools.Native;

namespace GuestOps.Tools.Processes;

/// <summary>
/// Starts <c>SHELL -c COMMAND</c> as the calling thread's user, detached: posix_spawn from the impersonated thread.
/// <para>
/// The shell is the one open-vm-tools (ESXi's Linux guest agent, procMgrPosix.c) uses: <c>/bin/bash</c> when the guest
/// has it, else <c>/bin/sh</c>. bash runs a single simple command by exec'ing it, so for the usual
/// <c>"program" args</c> the returned pid is the program's own (with <c>/bin/sh</c> = dash it is the shell's), and
/// arguments written for ESXi guests (bash syntax included) mean the same here.
/// </para>
/// <para>
/// Why this works without a launcher process: Linux credentials are per thread and a new process copies the
/// credentials of the thread that creates it. The impersonation thread has real = effective uid = the user (saved
/// uid 0), the user's gid and supplementary groups; posix_spawn's child (clone(CLONE_VM|CLONE_VFORK) + execve)
/// starts with exactly those, and execve of the (non-set-user-ID) shell copies the effective ids into the saved
/// ids and, the user being non-root, leaves the permitted/effective capability sets empty — so the program runs with
/// all three uids and gids the user's and no way back to root. The inheritable and ambient capability sets of the
/// thread are emptied first (<see cref="Syscalls.DropInheritableCapabilities"/>): bubblewrap's --cap-add puts the
/// worker's capabilities in the ambient set, which execve would otherwise hand to the user's program.
/// </para>
/// <para>
/// The child: a new session (POSIX_SPAWN_SETSID, so no controlling terminal and its own process group, which
/// TerminateProcess signals as a whole), stdin/stdout/stderr on /dev/null, no other descriptors
/// (addclosefrom_np(3) where glibc has it; the worker opens everything O_CLOEXEC anyway), an empty signal mask and
/// every signal at its default disposition (the .NET runtime ignores SIGPIPE, which exec would otherwise keep), the
/// working directory set in the child (addchdir_np; on glibc before 2.29 the shell changes directory first and then
/// execs the command shell, so the pid is still the program's shell), and exactly the given environment. Failures
/// before exec (working directory, the shell itself) come back from posix_spawn as an errno.
/// </para>
/// <para>
/// A root guest user runs as the worker runs (no switch): root may do what root may.
/// </para>
/// </summary>
internal static unsafe class ProgramLauncher
{
    public const string BashPath = "/bin/bash";

    public const string BourneShellPath = "/bin/sh";

    /// <summary>False forces the pre-2.29 path (the shell changes directory); for tests.</summary>
    internal static bool UseSpawnChdir { get; set; } = true;

    /// <summary>Spawns the shell; returns 0 and the pid, or an errno.</summary>
    public static int Spawn(string command, string workingDirectory, IReadOnlyList<string> environment, out int pid)
    {
        pid = 0;
        var rc = Syscalls.DropInheritableCapabilities();
        if (rc != 0)
        {
            return rc;
        }

        var chdir = UseSpawnChdir ? LibC.Optional.SpawnAddChdir : null;
        var closeFrom = LibC.Optional.SpawnAddCloseFrom;
        var shell = Shell();
        string[] argv = chdir is not null
            ? [shell, "-c", command]
            : [shell, "-c", "cd -- \"$1\" && exec " + shell + " -c \"$2\"", shell, workingDirectory, command];

        using var args = new NativeStrings(argv);
        using var envp = new NativeStrings(environment);
        var shellZ = LibC.Utf8Z(shell);
        var devNullZ = LibC.Utf8Z("/dev/null");
        var directoryZ = LibC.Utf8Z(workingDirectory);
        var actions = NativeMemory.AllocZeroed(LibC.SpawnFileActionsSize);
        var attr = NativeMemory.AllocZeroed(LibC.SpawnAttrSize);
        var mask = NativeMemory.AllocZeroed(LibC.SigSetSize);
        var defaults = NativeMemory.AllocZeroed(LibC.SigSetSize);
        var actionsReady = false;
        var attrReady = false;
        try
        {
            rc = LibC.posix_spawn_file_actions_init(actions);
            if (rc != 0)
            {
                return rc;
            }

            actionsReady = true;
            rc = LibC.posix_spawnattr_init(attr);
            if (rc != 0)
            {
                return rc;
            }

            attrReady = true;
            fixed (byte* devNull = devNullZ)
            fixed (byte* directory = directoryZ)
            fixed (byte* shellPath = shellZ)
            {
                rc = LibC.posix_spawn_file_actions_addopen(actions, 0, devNull, LibC.O_RDONLY, 0);
                if (rc == 0)
                {
                    rc = LibC.posix_spawn_file_actions_addopen(actions, 1, devNull, LibC.O_WRONLY, 0);
                }

                if (rc == 0)
                {
                    rc = LibC.posix_spawn_file_actions_adddup2(actions, 1, 2);
                }

                if (rc == 0 && chdir is not null)
                {
                    rc = chdir(actions, directory);
                }

                if (rc == 0 && closeFrom is not null)
                {
                    rc = closeFrom(actions, 3);
                }

                if (rc != 0)
                {
                    return rc;
                }

                _ = LibC.sigemptyset(mask);
                _ = LibC.sigfillset(defaults);
                rc = LibC.posix_spawnattr_setsigmask(attr, mask);
                if (rc == 0)
                {
                    rc = LibC.posix_spawnattr_setsigdefault(attr, defaults);
                }

                if (rc == 0)
                {
                    rc = LibC.posix_spawnattr_setflags(attr, LibC.POSIX_SPAWN_SETSID | LibC.POSIX_SPAWN_SETSIGMASK | LibC.POSIX_SPAWN_SETSIGDEF);
                }

                if (rc != 0)
                {
                    return rc;
                }

                int child;
                rc = LibC.posix_spawn(&child, shellPath, actions, attr, args.Pointer, envp.Pointer);
                pid = rc == 0 ? child : 0;
                return rc;
            }
        }
        finally
        {
            if (actionsReady)
            {
                _ = LibC.posix_spawn_file_actions_destroy(actions);
            }

            if (attrReady)
            {
                _ = LibC.posix_spawnattr_destroy(attr);
            }

            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            NativeMemory.Free(mask);
            NativeMemory.Free(defaults);
        }
    }

    /// <summary>The shell programs are started with: bash if this user can execute it, else /bin/sh.</summary>
    internal static string Shell() => PosixIo.AccessAt(BashZ, LibC.X_OK) == 0 ? BashPath : BourneShellPath;

    private static readonly byte[] BashZ = LibC.Utf8Z(BashPath);

    /// <summary>
    /// The shell command for a program and its arguments, as ESXi builds it on Linux: the program path in double
    /// quotes, then the arguments verbatim (shell-interpreted). A path containing a character that is special
    /// inside double quotes (<c>$ ` \ "</c>) is single-quoted instead, so the path is always taken literally.
    /// </summary>
    public static string BuildCommand(string programPath, string arguments)
    {
        var quoted = programPath.AsSpan().IndexOfAny("$`\\\"") < 0
            ? "\"" + programPath + "\""
            : "'" + programPath.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        return arguments.Length == 0 ? quoted : quoted + " " + arguments;
    }

    /// <summary>A NULL-terminated array of NUL-terminated UTF-8 strings in native memory.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly byte*[] _strings;

        public NativeStrings(IReadOnlyList<string> values)
        {
            _strings = new byte*[values.Count];
            Pointer = (byte**)NativeMemory.AllocZeroed((nuint)(values.Count + 1), (nuint)sizeof(byte*));
            for (var i = 0; i < values.Count; i++)
            {
                var bytes = Encoding.UTF8.GetBytes(values[i]);
                var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
                bytes.AsSpan().CopyTo(new Span<byte>(p, bytes.Length));
                p[bytes.Length] = 0;
                _strings[i] = p;
                Pointer[i] = p;
            }
        }

        public byte** Pointer { get; }

        public void Dispose()
        {
            foreach (var p in _strings)
            {
                NativeMemory.Free(p);
            }

            NativeMemory.Free(Pointer);
        }
    }
}
