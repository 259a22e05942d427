using System.Globalization;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Files;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Processes;

/// <summary>
/// The GuestProcessManager operations (vim25 3.5). As with the file operations, <c>Prepare</c> validates on any
/// thread and returns work for the impersonated thread; TerminateProcess waits between its signals outside it.
/// </summary>
internal static class ProcessOperations
{
    /// <summary>How long TerminateProcess waits after SIGTERM before SIGKILL (open-vm-tools: 5 s).</summary>
    internal static TimeSpan TerminateGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long it waits after SIGKILL before reporting failure (open-vm-tools: 15 s).</summary>
    internal static TimeSpan KillGrace { get; set; } = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan GonePoll = TimeSpan.FromMilliseconds(20);

    // ---------------------------------------------------------------- StartProgram

    /// <summary>
    /// Starts <c>bash -c '"programPath" arguments'</c> (or sh) as the user (see <see cref="ProgramLauncher"/>) and records
    /// it. programPath must be absolute (InvalidArgument) and exist (FileNotFound); a directory is NotAFile, a file
    /// the user may not execute FileAccessError (CannotAccessFile, as the reference lists), a path the user cannot
    /// even look up PermissionDenied. The working directory (default: the user's home) must exist (FileNotFound), be
    /// a directory (NotADirectory) and be searchable by the user (PermissionDenied). Returns the pid of the process
    /// posix_spawn created: the shell, which bash replaces with the program for a single command.
    /// </summary>
    public static Func<ProcessIdResult> Prepare(StartProgramRequest request, GuestUser user, StartedPrograms programs, TimeProvider time)
    {
        var program = GuestPath.Parse(request.ProgramPath, "program path");
        var arguments = request.Arguments ?? "";
        if (arguments.Contains('\0'))
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, "The arguments contain a NUL character.") { Path = request.ProgramPath };
        }

        var workingDirectory = GuestPath.ParseOptional(request.WorkingDirectory, "working directory");
        if (request.Environment is { } environment)
        {
            foreach (var entry in environment)
            {
                if (string.IsNullOrEmpty(entry) || entry.IndexOf('=', StringComparison.Ordinal) <= 0 || entry.Contains('\0'))
                {
                    throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"Environment entry '{entry?.Replace("\0", "\\0", StringComparison.Ordinal)}' is not NAME=value.");
                }
            }
        }

        return () =>
        {
            CheckProgram(program);
            var directory = workingDirectory ?? HomeOf(user);
            CheckWorkingDirectory(directory);
            var env = request.Environment ?? UserEnvironment.Build(user, directory.Value);
            var command = ProgramLauncher.BuildCommand(program.Value, arguments);
            var rc = ProgramLauncher.Spawn(program.Value, arguments, directory.Value, env, out var pid);
            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, rc is LibC.ENOENT or LibC.ENOTDIR or LibC.EACCES ? directory.Original : program.Original, "Cannot start the program in");
            }

            programs.Add(new StartedPrograms.Program(pid, program.Value, user.Name, command, time.GetUtcNow()));
            return new ProcessIdResult { Pid = pid };
        };
    }

    private static GuestPath HomeOf(GuestUser user)
    {
        try
        {
            return GuestPath.Parse(user.Home, "home directory");
        }
        catch (GuestOperationException)
        {
            throw new GuestOperationException(GuestErrorCode.FileNotFound, $"User '{user.Name}' has no usable home directory ('{user.Home}').") { Path = user.Home };
        }
    }

    private static void CheckProgram(GuestPath program)
    {
        var rc = PosixFs.Stat(LibC.AT_FDCWD, program.Z, follow: true, out var status);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, program.Original, "Cannot find the program");
        }

        if (status.IsDirectory)
        {
            throw GuestOperationException.ForPath(GuestErrorCode.NotAFile, program.Original, $"The program path '{program.Original}' is a directory.");
        }

        rc = PosixIo.AccessAt(program.Z, LibC.X_OK);
        if (rc != 0)
        {
            throw GuestOperationException.ForPath(GuestErrorCode.FileAccessError, program.Original, $"The program '{program.Original}' is not executable by this user.", rc);
        }
    }

    private static void CheckWorkingDirectory(GuestPath directory)
    {
        var rc = PosixFs.Stat(LibC.AT_FDCWD, directory.Z, follow: true, out var status);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, directory.Original, "Cannot use the working directory");
        }

        if (!status.IsDirectory)
        {
            throw GuestOperationException.ForPath(GuestErrorCode.NotADirectory, directory.Original, $"The working directory '{directory.Original}' is not a directory.");
        }

        rc = PosixIo.AccessAt(directory.Z, LibC.X_OK);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, directory.Original, "Cannot use the working directory");
        }
    }

    // ---------------------------------------------------------------- ListProcesses

    /// <summary>
    /// Every process of the guest (or the given pids, unknown ones skipped), plus the started programs that exited
    /// within the retention time, with their end time and exit code (listed first). A process started through
    /// StartProgram is shown with its program path as name and its original command line while it runs, too; a
    /// running process never has an end time or exit code.
    /// </summary>
    public static Func<ListProcessesResult> Prepare(ListProcessesRequest request, StartedPrograms programs, IUserDirectory users)
    {
        List<int>? wanted = null;
        if (request.Pids is { } pids)
        {
            wanted = [];
            var seen = new HashSet<int>(); // a set: a request may name 100 000 pids, and a list's Contains would cost seconds
            foreach (var pid in pids)
            {
                if (pid is > 0 and <= int.MaxValue && seen.Add((int)pid))
                {
                    wanted.Add((int)pid);
                }
            }
        }

        return () =>
        {
            var (running, exited) = programs.Snapshot();
            var tracked = running.Select(p => p.Pid).ToHashSet();
            var exitedByPid = exited.GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.OrderBy(p => p.EndTime).ToList());
            var owners = new Dictionary<uint, string>();
            var result = new List<GuestProcessEntry>();

            IEnumerable<int> candidates = wanted is not null ? wanted : ProcFs.ListPids().Union(tracked).Order();
            if (wanted is null)
            {
                result.AddRange(exited.Select(p => p.ToEntry()));
            }

            foreach (var pid in candidates)
            {
                if (wanted is not null && exitedByPid.TryGetValue(pid, out var ended))
                {
                    result.AddRange(ended.Select(p => p.ToEntry()));
                }

                if (tracked.Contains(pid))
                {
                    // Ours: the record, not /proc (it may have been collected since the snapshot; then this is its
                    // exit record, which the snapshot did not have yet).
                    if (programs.Latest(pid) is { } current)
                    {
                        result.Add(current.ToEntry());
                    }

                    continue;
                }

                var live = ProcFs.Read(pid);
                if (live is null)
                {
                    continue;
                }

                result.Add(new GuestProcessEntry
                {
                    Name = live.Name,
                    Pid = pid,
                    Owner = OwnerName(live.Uid, users, owners),
                    CommandLine = live.CommandLine,
                    StartTime = live.StartTime,
                });
            }

            return new ListProcessesResult { Processes = result };
        };
    }

    private static string OwnerName(uint uid, IUserDirectory users, Dictionary<uint, string> cache)
    {
        if (!cache.TryGetValue(uid, out var name))
        {
            try
            {
                name = users.FindByUid(uid)?.Name;
            }
            catch (IOException)
            {
                name = null;
            }

            name ??= uid.ToString(CultureInfo.InvariantCulture);
            cache[uid] = name;
        }

        return name;
    }

    // ---------------------------------------------------------------- TerminateProcess

    /// <summary>
    /// Terminates a process as the user, like open-vm-tools: SIGTERM, up to <see cref="TerminateGrace"/> for it to
    /// go, then SIGKILL and up to <see cref="KillGrace"/>; still there: an error. The signal goes to the process
    /// group when the pid leads one (programs started through StartProgram do: they run in their own session), else
    /// to the process alone — never to the worker's own group. The first signal doubles as the permission check:
    /// the kernel decides whether this user may signal that process (EPERM: PermissionDenied). Unknown pid:
    /// NoSuchProcess. The call returns once the process is gone — for a started program, once it is collected, so a
    /// following ListProcesses shows its end time and exit code.
    /// </summary>
    public static async Task TerminateAsync(TerminateProcessRequest request, GuestUser user, IImpersonator impersonator, StartedPrograms programs, CancellationToken cancellationToken)
    {
        var pid = request.Pid;
        if (pid is <= 0 or > int.MaxValue)
        {
            throw NoSuchProcess(pid);
        }

        var target = (int)pid;
        if (target == LibC.getpid())
        {
            throw new GuestOperationException(GuestErrorCode.PermissionDenied, "The guest agent does not terminate itself.") { Pid = pid };
        }

        await impersonator.RunAsAsync(user, () => Signal(target, LibC.SIGTERM, probe: true), cancellationToken).ConfigureAwait(false);
        if (await WaitGoneAsync(target, programs, TerminateGrace, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await impersonator.RunAsAsync(user, () => Signal(target, LibC.SIGKILL, probe: false), cancellationToken).ConfigureAwait(false);
        if (!await WaitGoneAsync(target, programs, KillGrace, cancellationToken).ConfigureAwait(false))
        {
            throw new GuestOperationException(GuestErrorCode.InternalError, $"Process {pid} did not terminate after SIGTERM and SIGKILL.") { Pid = pid };
        }
    }

    private static bool Signal(int pid, int signal, bool probe)
    {
        if (probe)
        {
            if (LibC.kill(pid, 0) != 0)
            {
                throw SignalError(PosixIo.LastError(), pid);
            }
        }

        var group = LibC.getpgid(pid);
        var ownGroup = LibC.getpgid(0);
        var rc = group == pid && group != ownGroup ? LibC.kill(-pid, signal) : LibC.kill(pid, signal);
        if (rc != 0)
        {
            var errno = PosixIo.LastError();
            if (errno == LibC.ESRCH && !probe)
            {
                return true; // gone meanwhile
            }

            throw SignalError(errno, pid);
        }

        return true;
    }

    private static GuestOperationException SignalError(int errno, long pid) => errno switch
    {
        LibC.ESRCH => NoSuchProcess(pid),
        LibC.EPERM => new GuestOperationException(GuestErrorCode.PermissionDenied, $"Not permitted to terminate process {pid}.") { Pid = pid, OsError = errno },
        _ => new GuestOperationException(GuestErrorCode.InternalError, $"Cannot signal process {pid}: error {errno}.") { Pid = pid, OsError = errno },
    };

    private static GuestOperationException NoSuchProcess(long pid) =>
        new(GuestErrorCode.NoSuchProcess, $"There is no process {pid.ToString(CultureInfo.InvariantCulture)} in the guest.") { Pid = pid };

    /// <summary>True once the process is gone: collected if it is one of ours, else absent or a zombie.</summary>
    internal static bool IsGone(int pid, StartedPrograms programs)
    {
        programs.Reap();
        if (programs.IsRunning(pid))
        {
            return false;
        }

        return ProcFs.State(pid) is null or 'Z' or 'X';
    }

    private static async Task<bool> WaitGoneAsync(int pid, StartedPrograms programs, TimeSpan limit, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (true)
        {
            if (IsGone(pid, programs))
            {
                return true;
            }

            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            await Task.Delay(GonePoll, cancellationToken).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- ReadEnvironment

    /// <summary>
    /// The environment a program started for this user without an explicit one would get
    /// (<see cref="UserEnvironment"/>, PWD = the home), all of it or the named variables that are set (in the order
    /// asked, each once).
    /// </summary>
    public static Func<EnvironmentResult> Prepare(ReadEnvironmentRequest request, GuestUser user)
    {
        var names = request.Names is { Count: > 0 } n ? n.Distinct(StringComparer.Ordinal).ToList() : null;
        return () =>
        {
            var all = UserEnvironment.Build(user, user.Home);
            if (names is null)
            {
                return new EnvironmentResult { Variables = all };
            }

            var byName = all.ToDictionary(e => e[..e.IndexOf('=', StringComparison.Ordinal)], StringComparer.Ordinal);
            return new EnvironmentResult { Variables = [.. names.Where(byName.ContainsKey).Select(name => byName[name])] };
        };
    }
}
