using System.Runtime.InteropServices;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using GuestOps.Tools.State;

namespace GuestOps.Tools.Processes;

/// <summary>
/// The programs this worker started: their original command lines while they run, and their exit code and end time
/// for <see cref="Retention"/> (five minutes, as vSphere documents and open-vm-tools does) after they exit.
/// <para>
/// Reaping: the worker is the parent of every program it starts, so it collects each one with
/// <c>waitpid(pid, WNOHANG)</c> — only its own tracked pids, never <c>waitpid(-1)</c>, which would steal children
/// of other code in the process. A reaper thread does it as soon as SIGCHLD arrives (and once a second as a safety
/// net while anything runs); listing and terminating reap first too, so what they see is current.
/// </para>
/// <para>
/// Exit codes: a normal exit is its status (0-255); a program killed by signal N is <c>128 + N</c> (the shell's
/// convention: SIGTERM 143, SIGKILL 137). If the status cannot be collected (another part of the process reaped
/// the child, e.g. when SIGCHLD was ignored at start-up) the exit code is -1.
/// </para>
/// </summary>
internal sealed class StartedPrograms : IDisposable
{
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromMinutes(5);

    /// <summary>Most exited records kept; the oldest go first beyond it.</summary>
    public const int MaxExited = 4096;

    private static readonly TimeSpan SafetyPoll = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<int, Program> _running = [];
    private readonly List<Program> _exited = [];
    private readonly TimeProvider _time;
    private readonly AutoResetEvent _wake = new(false);
    private Thread? _reaper;
    private PosixSignalRegistration? _sigchld;
    private readonly ProgramRecordFiles? _records;
    private readonly bool _fromRecords;
    private volatile bool _disposed;
    private readonly Action? _collect;

    public StartedPrograms(TimeProvider? time = null, TimeSpan? retention = null)
        : this(time, retention, null, fromRecords: false)
    {
    }

    private StartedPrograms(TimeProvider? time, TimeSpan? retention, ProgramRecordFiles? records, bool fromRecords, Action? collect = null)
    {
        _collect = collect;
        _time = time ?? TimeProvider.System;
        Retention = retention ?? DefaultRetention;
        _records = records;
        _fromRecords = fromRecords;
    }

    /// <summary>A supervisor's list (<c>guestops-tools --supervise</c>): it starts and reaps programs like the
    /// long-running worker, and also writes each one's record, at start and at exit, for later one-shot runs.</summary>
    public static StartedPrograms Recording(ProgramRecordFiles records, TimeProvider? time = null) => new(time, null, records, fromRecords: false);

    /// <summary>A one-shot run's view: the programs the guest's supervisors recorded, re-read on every
    /// <see cref="Reap"/>. It starts nothing and reaps nothing (the supervisors do); <paramref name="collect"/>, when
    /// given, runs first on each <see cref="Reap"/>: the resident tools' own supervisor writing the records of programs
    /// that have just exited.</summary>
    public static StartedPrograms FromRecords(ProgramRecordFiles records, TimeProvider? time = null, Action? collect = null) =>
        new(time, null, records, fromRecords: true, collect);

    /// <summary>How long an exited program stays listed.</summary>
    public TimeSpan Retention { get; }

    /// <summary>One started program (a snapshot when handed out).</summary>
    public sealed record Program(int Pid, string Name, string Owner, string CommandLine, DateTimeOffset StartTime)
    {
        public DateTimeOffset? EndTime { get; init; }

        public int? ExitCode { get; init; }

        public GuestProcessEntry ToEntry() => new()
        {
            Name = Name,
            Pid = Pid,
            Owner = Owner,
            CommandLine = CommandLine,
            StartTime = StartTime,
            EndTime = EndTime,
            ExitCode = ExitCode,
        };
    }

    /// <summary>
    /// Starts the reaper thread and the SIGCHLD hook once. Must be called on a thread with the worker's own
    /// identity (never an impersonated one): a new thread inherits its creator's credentials.
    /// </summary>
    public void EnsureReaper()
    {
        if (_reaper is not null)
        {
            return;
        }

        lock (_lock)
        {
            if (_reaper is not null || _disposed)
            {
                return;
            }

            try
            {
                if (OperatingSystem.IsLinux())
                {
                    _sigchld = PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ => _wake.Set());
                }
            }
            catch (PlatformNotSupportedException)
            {
                // The safety poll still reaps.
            }

            _reaper = new Thread(ReapLoop, 128 * 1024) { IsBackground = true, Name = "guestops-reaper" };
            _reaper.Start();
        }
    }

    /// <summary>Records a program just started (safe on any thread; starts nothing).</summary>
    public void Add(Program program)
    {
        lock (_lock)
        {
            _running[program.Pid] = program;
            _exited.RemoveAll(p => p.Pid == program.Pid); // the pid was reused: the old record is void
        }

        _wake.Set();
    }

    /// <summary>A supervisor's first record of a program it started, written on its own (root) thread: <see cref="Add"/>
    /// runs as the user, who may not write the records. Under the same lock as the reaper, so a program that exited
    /// meanwhile keeps its exit record.</summary>
    public void RecordStart(int pid)
    {
        lock (_lock)
        {
            var program = _running.GetValueOrDefault(pid) ?? _exited.LastOrDefault(p => p.Pid == pid);
            if (program is not null)
            {
                _records?.Write(program, Environment.ProcessId);
            }
        }
    }

    /// <summary>Collects every tracked program that has exited.</summary>
    public void Reap()
    {
        if (_fromRecords)
        {
            _collect?.Invoke();
            Reload();
            return;
        }

        lock (_lock)
        {
            if (_running.Count > 0)
            {
                List<int>? done = null;
                foreach (var (pid, program) in _running)
                {
                    var (exited, code) = TryWait(pid);
                    if (!exited)
                    {
                        continue;
                    }

                    (done ??= []).Add(pid);
                    var ended = program with { EndTime = _time.GetUtcNow(), ExitCode = code };
                    _exited.Add(ended);
                    _records?.Write(ended, Environment.ProcessId);
                }

                if (done is not null)
                {
                    foreach (var pid in done)
                    {
                        _running.Remove(pid);
                    }
                }
            }

            Purge();
        }
    }

    /// <summary>Running programs (no end time) and those that exited within the retention time.</summary>
    public (IReadOnlyList<Program> Running, IReadOnlyList<Program> Exited) Snapshot()
    {
        if (_fromRecords)
        {
            Reload(); // not the supervisor's collection: on a user's thread it could not write its records
        }
        else
        {
            Reap();
        }

        lock (_lock)
        {
            return ([.. _running.Values], [.. _exited]);
        }
    }

    /// <summary>The current record of a started program with this pid: running, else its latest exit record.</summary>
    public Program? Latest(int pid)
    {
        lock (_lock)
        {
            if (_running.TryGetValue(pid, out var running))
            {
                return running;
            }

            for (var i = _exited.Count - 1; i >= 0; i--)
            {
                if (_exited[i].Pid == pid)
                {
                    return _exited[i];
                }
            }

            return null;
        }
    }

    /// <summary>True while a tracked program with this pid has not been collected.</summary>
    public bool IsRunning(int pid)
    {
        lock (_lock)
        {
            return _running.ContainsKey(pid);
        }
    }

    /// <summary>Number of tracked programs still running.</summary>
    public int RunningCount
    {
        get
        {
            lock (_lock)
            {
                return _running.Count;
            }
        }
    }

    private void Reload()
    {
        List<ProgramRecord> records;
        try
        {
            records = _records!.ReadAll(_time.GetUtcNow(), Retention);
        }
        catch (UnauthorizedAccessException)
        {
            return; // a user's thread cannot read the root-only records: what the worker's own thread loaded stands
        }

        lock (_lock)
        {
            _running.Clear();
            _exited.Clear();
            foreach (var record in records.OrderBy(r => r.StartTime))
            {
                var program = new Program(record.Pid, record.Name, record.Owner, record.CommandLine, record.StartTime) { EndTime = record.EndTime, ExitCode = record.ExitCode };
                if (record.EndTime is null)
                {
                    _running[record.Pid] = program;
                }
                else
                {
                    _exited.Add(program);
                }
            }

            Purge();
        }
    }

    private void Purge()
    {
        var cutoff = _time.GetUtcNow() - Retention;
        _exited.RemoveAll(p => p.EndTime < cutoff);
        if (_exited.Count > MaxExited)
        {
            _exited.RemoveRange(0, _exited.Count - MaxExited);
        }
    }

    private static unsafe (bool Exited, int Code) TryWait(int pid)
    {
        while (true)
        {
            int status;
            var rc = LibC.waitpid(pid, &status, LibC.WNOHANG);
            if (rc == pid)
            {
                return (true, DecodeStatus(status));
            }

            if (rc == 0)
            {
                return (false, 0);
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == LibC.EINTR)
            {
                continue;
            }

            return (true, -1); // ECHILD: not (or no longer) ours to collect
        }
    }

    /// <summary>wait status to exit code: the exit status, or 128 + the signal number.</summary>
    internal static int DecodeStatus(int status)
    {
        var signal = status & 0x7F;
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal;
    }

    private void ReapLoop()
    {
        while (!_disposed)
        {
            _wake.WaitOne(RunningCount > 0 ? SafetyPoll : Timeout.InfiniteTimeSpan);
            if (_disposed)
            {
                break;
            }

            Reap();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _wake.Set();
        _sigchld?.Dispose();
    }
}
