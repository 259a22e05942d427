using GuestOps.Channel.Messages;
using GuestOps.Server.Guest;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.ProcessManager: start, list and terminate guest processes; read the guest environment.</summary>
public sealed class GuestProcessManager(string id, GuestCalls guest, PropertyReader reader) : ManagedObject(id, reader), IGuestProcessManager
{
    private static readonly PropertyTable<GuestProcessManager> Table = new();

    public override PropertyTable Properties => Table;

    /// <summary>Starts the program through the guest's shell as the user, detached; returns its pid at once
    /// (as StartProgramInGuest does). Completion shows in ListProcessesInGuest. A GuestWindowsProgramSpec's startMinimized has no
    /// meaning on a Linux guest and is ignored.</summary>
    public async Task<long> StartProgramInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, GuestProgramSpec spec)
    {
        var call = Call;
        var result = await guest.InvokeAsync<ProcessIdResult>(call, vm, auth, new StartProgramRequest
        {
            ProgramPath = spec.programPath,
            Arguments = spec.arguments ?? "",
            WorkingDirectory = string.IsNullOrEmpty(spec.workingDirectory) ? null : spec.workingDirectory,
            Environment = spec.envVariables is { Length: > 0 } env ? env : null,
        });
        return result.Pid;
    }

    /// <summary>All guest processes, or the given pids (unknown ones skipped); started programs keep endTime and
    /// exitCode for five minutes after they exit, and a running process has neither.</summary>
    public async Task<GuestProcessInfo[]> ListProcessesInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, long[]? pids)
    {
        var call = Call;
        var result = await guest.InvokeAsync<ListProcessesResult>(call, vm, auth, new ListProcessesRequest { Pids = pids is { Length: > 0 } ? pids : null });
        return result.Processes.Select(p => new GuestProcessInfo
        {
            name = p.Name,
            pid = p.Pid,
            owner = p.Owner,
            cmdLine = p.CommandLine,
            startTime = p.StartTime.UtcDateTime,
            endTime = p.EndTime?.UtcDateTime,
            exitCode = p.EndTime is null ? null : p.ExitCode,
        }).ToArray();
    }

    public Task TerminateProcessInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, long pid) =>
        guest.InvokeAsync<EmptyResult>(Call, vm, auth, new TerminateProcessRequest { Pid = pid });

    /// <summary>NAME=value for the named variables that are set (or all): the environment a program started for
    /// this user would get.</summary>
    public async Task<string[]> ReadEnvironmentVariableInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string[]? names) =>
        (await guest.InvokeAsync<EnvironmentResult>(Call, vm, auth, new ReadEnvironmentRequest { Names = names is { Length: > 0 } ? names : null })).Variables.ToArray();
}
