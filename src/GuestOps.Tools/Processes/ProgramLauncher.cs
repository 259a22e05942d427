using System.Runtime.InteropServices;
using System.Text;
using GuestOps.Tools.Native;

namespace GuestOps.Tools.Processes;

/// <summary>
/// Starts <c>SHELL -c COMMAND</c> as the calling thread's user, detached: posix_spawn from the impersonated thread
/// (or the program itself, where the shell would only exec it: below).
/// <para>
/// The shell is the one open-vm-tools (ESXi's Linux guest agent, procMgrPosix.c) uses: <c>/bin/bash</c> when the guest
/// has it, else <c>/bin/sh</c>. bash runs a single simple command by exec'ing it, so for the usual
/// <c>"program" args</c> the returned pid is the program's own (with <c>/bin/sh</c> = dash it is the shell's, unless the
/// program is started directly), and arguments written for ESXi guests (bash syntax included) mean the same here.
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
/// <para>
/// Without the shell when bash would change nothing (<see cref="DirectArguments"/>, <see cref="DirectEnvironment"/>), as
/// Perl's system() does (only where the shell is bash; <c>/bin/sh</c> is always run): arguments that are only plain words, which the shell would split on blanks and pass on as
/// they are, and an environment the shell would pass on unchanged but for what it adds itself (bash: <c>SHLVL=0</c> and
/// <c>_</c> = the program, the variables a bash one-shot <c>-c</c> exec hands on; without a <c>PWD</c>, the physical
/// working directory). The program is then spawned directly, with the argv and
/// environment the shell would have exec'ed it with: one process start instead of two (a shell start costs as much as
/// the program's on a small guest). Whatever the direct spawn refuses (a script without <c>#!</c>, which the shell runs
/// itself; an ELF interpreter missing) goes through the shell, which handles it as it always did.
/// </para>
/// </summary>
internal static unsafe class ProgramLauncher
{
    public const string BashPath = "/bin/bash";

    public const string BourneShellPath = "/bin/sh";

    /// <summary>False forces the pre-2.29 path (the shell changes directory); for tests.</summary>
    internal static bool UseSpawnChdir { get; set; } = true;

    /// <summary>False starts every program through the shell; for tests that compare both ways.</summary>
    internal static bool UseDirectSpawn { get; set; } = true;

    /// <summary>Starts <paramref name="programPath"/> with <paramref name="arguments"/> as a shell would
    /// (<see cref="BuildCommand"/>), directly when the shell would change nothing; returns 0 and the pid, or an errno.</summary>
    public static int Spawn(string programPath, string arguments, string workingDirectory, IReadOnlyList<string> environment, out int pid)
    {
        pid = 0;
        var rc = Syscalls.DropInheritableCapabilities();
        if (rc != 0)
        {
            return rc;
        }

        var chdir = UseSpawnChdir ? LibC.Optional.SpawnAddChdir : null;
        var shell = Shell();
        if (chdir is not null
            && UseDirectSpawn
            && shell == BashPath
            && DirectArguments(arguments) is { } words
            && DirectEnvironment(environment, programPath, workingDirectory) is { } direct
            && SpawnCore(programPath, [programPath, .. words], workingDirectory, direct, chdir, out pid) == 0)
        {
            return 0;
        }

        var command = BuildCommand(programPath, arguments);
        string[] argv = chdir is not null
            ? [shell, "-c", command]
            : [shell, "-c", "cd -- \"$1\" && exec " + shell + " -c \"$2\"", shell, workingDirectory, command];
        return SpawnCore(shell, argv, workingDirectory, environment, chdir, out pid);
    }

    /// <summary>
    /// The words of <paramref name="arguments"/> when the shell would pass them on unchanged: only blanks (space, tab)
    /// between words of letters, digits and <c>_ - . / : = , + @ %</c>, none of which any shell expands, quotes or
    /// treats as an operator. Null for anything else (quotes, <c>$</c>, globs, <c>~</c>, redirections, <c>;</c>,
    /// <c>#</c>, a newline, non-ASCII): those go through the shell.
    /// </summary>
    internal static List<string>? DirectArguments(string arguments)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= arguments.Length; i++)
        {
            var c = i < arguments.Length ? arguments[i] : ' ';
            if (c is ' ' or '\t')
            {
                if (start >= 0)
                {
                    words.Add(arguments[start..i]);
                    start = -1;
                }
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ':' or '=' or ',' or '+' or '@' or '%')
            {
                start = start < 0 ? i : start;
            }
            else
            {
                return null;
            }
        }

        return words;
    }

    /// <summary>
    /// The environment bash would exec the program with, when that is <paramref name="environment"/> plus what bash
    /// adds on its own: <c>SHLVL=0</c> (bash 5's one-shot <c>-c</c> exec undoes its own increment; bash 4 left 1) and
    /// <c>_</c> set to the program's path; it keeps a <c>PWD</c> that is the working directory's path and, without
    /// one, sets it to the physical working directory. Null when the environment holds something a shell would act on or
    /// change in ways not copied here (<c>BASH_ENV</c>, <c>ENV</c>, shell options, <c>SHLVL</c>, <c>OLDPWD</c>,
    /// <c>IFS</c>, any <c>BASH*</c>, a <c>PWD</c> other than the working directory's path, a name that is not an
    /// identifier, a name given twice).
    /// </summary>
    internal static List<string>? DirectEnvironment(IReadOnlyList<string> environment, string programPath, string workingDirectory)
    {
        var result = new List<string>(environment.Count + 3);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var pwd = false;
        foreach (var entry in environment)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? entry[..equals] : "";
            if (!IsIdentifier(name) || !names.Add(name) || ShellReads(name))
            {
                return null;
            }

            if (name == "PWD")
            {
                if (!entry.AsSpan(equals + 1).SequenceEqual(workingDirectory))
                {
                    return null; // the shell keeps another path to the same directory and replaces any other
                }

                pwd = true;
            }
            else if (name == "_")
            {
                continue; // bash sets its own
            }

            result.Add(entry);
        }

        if (!pwd)
        {
            if (PosixFs.RealPath(workingDirectory) is not { } physical)
            {
                return null;
            }

            result.Add("PWD=" + physical);
        }

        result.Add("SHLVL=0");
        result.Add("_=" + programPath);
        return result;
    }

    private static bool IsIdentifier(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>Variables bash reads at start or rewrites before it execs (its own dynamic variables, the options, the
    /// startup files it sources for <c>SSH_CLIENT</c> where built so).</summary>
    private static bool ShellReads(string name) =>
        name is "ENV" or "SHELLOPTS" or "POSIXLY_CORRECT" or "POSIX_PEDANTIC" or "SHLVL" or "OLDPWD" or "IFS" or "CDPATH"
            or "GLOBIGNORE" or "EXECIGNORE" or "UID" or "EUID" or "PPID" or "GROUPS" or "MAIL" or "MAILPATH" or "MAILCHECK"
            or "TMOUT" or "OPTIND" or "OPTERR" or "OPTARG" or "LINENO" or "RANDOM" or "SRANDOM" or "SECONDS"
            or "EPOCHSECONDS" or "EPOCHREALTIME" or "DIRSTACK" or "FUNCNAME" or "FUNCNEST" or "PIPESTATUS" or "REPLY"
            or "PROMPT_COMMAND" or "PS0" or "PS1" or "PS2" or "PS3" or "PS4" or "SSH_CLIENT" or "SSH2_CLIENT"
        || name.StartsWith("BASH", StringComparison.Ordinal)
        || name.StartsWith("HIST", StringComparison.Ordinal)
        || name.StartsWith("COMP_", StringComparison.Ordinal)
        || name.StartsWith("READLINE_", StringComparison.Ordinal);

    private static int SpawnCore(string path, IReadOnlyList<string> argv, string workingDirectory, IReadOnlyList<string> environment,
        delegate* unmanaged<void*, byte*, int> chdir, out int pid)
    {
        pid = 0;
        int rc;
        var closeFrom = LibC.Optional.SpawnAddCloseFrom;
        using var args = new NativeStrings(argv);
        using var envp = new NativeStrings(environment);
        var shellZ = LibC.Utf8Z(path);
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
