using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Processes;
using Microsoft.Extensions.Logging.Abstractions;
using GuestOps.Tools.Errors;
using GuestOps.Tools.State;

namespace GuestOps.Tools.OneShot;

/// <summary>
/// Starts programs as their user exactly as the long-running worker does, and stays their parent: its reaper writes
/// each program's exit code and end time to the records in the tools' state directory, where every later run
/// (<c>ListProcesses</c>, <c>TerminateProcess</c>) reads them. Used by <c>--supervise</c> (one program, then waits for it)
/// and by <c>--resident</c> (every program started through it).
/// </summary>
internal sealed class ProgramSupervisor : IDisposable
{
    private readonly StartedPrograms _programs;
    private readonly ThreadImpersonator _impersonator = new(1, NullLogger<ThreadImpersonator>.Instance);

    /// <summary>Must be made on a thread with the tools' own (root) identity: the reaper thread inherits it.</summary>
    public ProgramSupervisor(ToolsStateDirectory state)
    {
        _programs = StartedPrograms.Recording(new ProgramRecordFiles(state.Programs));
        _programs.EnsureReaper();
    }

    /// <summary>Programs started here that still run.</summary>
    public int RunningCount => _programs.RunningCount;

    /// <summary>Starts the program as <paramref name="user"/> and records it; the response carries its pid.</summary>
    public async Task<ChannelResponse> StartAsync(StartProgramRequest request, GuestUser user)
    {
        try
        {
            var work = ProcessOperations.Prepare(request, user, _programs, TimeProvider.System);
            var started = await _impersonator.RunAsAsync(user, work, CancellationToken.None).ConfigureAwait(false);
            _programs.RecordStart((int)started.Pid);
            return ChannelResponse.Success(started);
        }
        catch (GuestOperationException e)
        {
            return ChannelResponse.Failure(e.ToError());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return ChannelResponse.Failure(GuestErrorCode.InternalError, "The program's supervisor failed: " + e.Message);
        }
    }

    /// <summary>Collects the programs started here that have exited and writes their records now, so that a listing
    /// made right after sees the exit code without waiting for the reaper thread to be scheduled.</summary>
    public void Reap() => _programs.Reap();

    /// <summary>Waits until every program started here has exited and its exit is recorded.</summary>
    public async Task WaitForAllAsync()
    {
        while (_programs.RunningCount > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        }

        _programs.Reap();
    }

    public void Dispose()
    {
        _impersonator.Dispose();
        _programs.Dispose();
    }
}
