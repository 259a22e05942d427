using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Native;
using Microsoft.Extensions.Logging;
using GuestOps.Tools.Errors;
using GuestOps.Tools.Threading;

namespace GuestOps.Tools.Impersonation;

/// <summary>
/// Impersonation for a worker running as root, without ever changing the identity of the whole process.
/// <para>
/// Linux keeps credentials per thread; POSIX wants them per process, so glibc's setresuid()/setgroups() wrappers
/// signal every thread of the process to change together (the SIGSETXID broadcast). Calling them here would flip the
/// identity of the .NET thread pool, the channel's read loop and every concurrent request at once. This class
/// instead owns a few dedicated threads and switches only the thread that runs the operation, with the raw
/// <c>syscall(SYS_setgroups/SYS_setresgid/SYS_setresuid)</c>, which the kernel applies to the calling thread only:
/// </para>
/// <list type="number">
/// <item>setgroups(user's groups), setresgid(gid, gid, gid) while still root (they need CAP_SETGID);</item>
/// <item>setresuid(uid, uid, <i>unchanged = 0</i>): real and effective uid become the user's, so every permission
/// check the kernel makes for this thread (open, stat, opendir, kill...) is the user's; the saved uid stays 0;</item>
/// <item>run the work;</item>
/// <item>setresuid(0, 0, 0) (allowed because the saved uid is 0), then restore the gids and groups.</item>
/// </list>
/// <para>
/// If restoring fails the process stops (<see cref="Environment.FailFast(string)"/>): a pool thread with the wrong
/// identity must never run another user's request. Limits: only synchronous work (an await would continue elsewhere);
/// the saved uid 0 means this is a permission-check boundary for the worker's own code, not a sandbox for untrusted
/// code (started programs must be separate processes that drop all three uids); the kernel marks the process
/// non-dumpable after the first switch.
/// </para>
/// <para>
/// The code awaiting <see cref="RunAsAsync{T}"/> continues on the impersonation thread, as root, after the switch
/// back, until its next await that does not complete at once: for a request, building and writing its answer. Code that
/// goes on to stream data (transfers) runs its first buffered chunks there, then continues wherever its awaits resume.
/// </para>
/// </summary>
public sealed partial class ThreadImpersonator : IImpersonator, IDisposable
{
    private readonly KeptThreads _threads;
    private readonly ILogger _logger;
    private readonly uint _rootUid;
    private readonly uint _rootGid;
    private readonly uint[] _rootGroups;

    public ThreadImpersonator(int threadCount, ILogger<ThreadImpersonator> logger)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threadCount);
        _logger = logger;
        _rootUid = LibC.geteuid();
        _rootGid = LibC.getegid();
        _rootGroups = CurrentGroups();
        if (_rootUid != 0)
        {
            throw new InvalidOperationException("ThreadImpersonator needs root; use SelfOnlyImpersonator otherwise.");
        }

        // Every thread now, on the constructing thread (the process's own identity), which they inherit.
        _threads = new KeptThreads("guestops-user", threadCount, startAll: true);
    }

    public bool CanImpersonateOthers => true;

    public Task<T> RunAsAsync<T>(GuestUser user, Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(work);
        var item = new WorkItem<T>(this, user, work, cancellationToken);
        _threads.Post(item);
        return item.Task;
    }

    /// <summary>One item on a kept thread: switch to the user, run the work, switch back, then publish the outcome.</summary>
    private void Run(WorkItem item)
    {
        if (item.IsCanceled)
        {
            return;
        }

        var switched = false;
        try
        {
            if (item.User.Uid != _rootUid)
            {
                switched = true; // restore even after a partial switch
                Become(item.User);
            }

            item.Execute();
        }
        catch (Exception ex)
        {
            item.Fail(ex);
        }
        finally
        {
            if (switched)
            {
                Restore(); // KeptThreads publishes the outcome after this: only once the thread is root again
            }
        }
    }

    private static void Become(GuestUser user)
    {
        var groups = user.Groups.Count == 0 ? [user.Gid] : user.Groups.ToArray();
        var rc = Syscalls.SetGroups(groups);
        if (rc == 0)
        {
            rc = Syscalls.SetResGid(user.Gid, user.Gid, user.Gid);
        }

        if (rc == 0)
        {
            rc = Syscalls.SetResUid(user.Uid, user.Uid, uint.MaxValue); // saved uid unchanged (0)
        }

        if (rc != 0)
        {
            throw new GuestOperationException(GuestErrorCode.PermissionDenied, $"Cannot switch to user {user}: errno {rc}.") { OsError = rc };
        }
    }

    private void Restore()
    {
        var rc = Syscalls.SetResUid(_rootUid, _rootUid, _rootUid);
        if (rc == 0)
        {
            rc = Syscalls.SetResGid(_rootGid, _rootGid, _rootGid);
        }

        if (rc == 0)
        {
            rc = Syscalls.SetGroups(_rootGroups);
        }

        if (rc != 0 || LibC.geteuid() != _rootUid)
        {
            LogRestoreFailed(rc);
            Environment.FailFast($"guestops-tools: could not restore root credentials on an impersonation thread (errno {rc}).");
        }
    }

    private static unsafe uint[] CurrentGroups()
    {
        var n = LibC.getgroups(0, null);
        if (n <= 0)
        {
            return [];
        }

        var groups = new uint[n];
        fixed (uint* g = groups)
        {
            n = LibC.getgroups(n, g);
        }

        return n < 0 ? [] : groups.AsSpan(0, n).ToArray();
    }

    public void Dispose() => _threads.Dispose();

    [LoggerMessage(EventId = 5300, Level = LogLevel.Critical, Message = "Could not restore root credentials on an impersonation thread (errno {Errno}); stopping")]
    private partial void LogRestoreFailed(int errno);

    private abstract class WorkItem(ThreadImpersonator owner, GuestUser user) : KeptWork
    {
        public GuestUser User { get; } = user;

        public override void Run() => owner.Run(this);

        public abstract bool IsCanceled { get; }

        public abstract void Execute();

        public abstract void Fail(Exception ex);
    }

    private sealed class WorkItem<T> : WorkItem
    {
        private readonly Func<T> _work;
        // Continuations run synchronously: the caller's code after its await goes on on this thread once it is root
        // again (Publish runs after Restore), so a request's answer is serialized and written here instead of waking
        // a pool thread for it — for a mostly idle worker, every such hand-off wakes a cold thread.
        private readonly TaskCompletionSource<T> _tcs = new();
        private readonly CancellationTokenRegistration _registration;
        private T? _result;
        private Exception? _error;
        private bool _hasResult;

        public WorkItem(ThreadImpersonator owner, GuestUser user, Func<T> work, CancellationToken ct) : base(owner, user)
        {
            _work = work;
            if (ct.CanBeCanceled)
            {
                _registration = ct.Register(static s => ((TaskCompletionSource<T>)s!).TrySetCanceled(), _tcs);
            }
        }

        public Task<T> Task => _tcs.Task;

        public override bool IsCanceled => _tcs.Task.IsCanceled;

        public override void Execute()
        {
            _result = _work();
            _hasResult = true;
        }

        public override void Fail(Exception ex) => _error = ex;

        public override void Publish()
        {
            _registration.Dispose();
            if (_error is not null)
            {
                _tcs.TrySetException(_error);
            }
            else if (_hasResult)
            {
                _tcs.TrySetResult(_result!);
            }
        }
    }
}
