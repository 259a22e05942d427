using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

// Process and environment operations (vSphere GuestProcessManager).

/// <summary>
/// Start a program as the credential's user, detached (new session, stdio not inherited), through the guest's shell
/// so <see cref="Arguments"/> is shell-interpreted: <c>/bin/bash -c '"programPath" arguments'</c> (<c>/bin/sh</c> when the
/// guest has no bash), as ESXi does on Linux.
/// </summary>
[GuestMethod("StartProgramInGuest", Privilege = GuestPrivilege.Execute, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.NotAFile, GuestErrorCode.FileAccessError])]
public sealed partial record StartProgramRequest : ChannelRequest, IChannelRequest<ProcessIdResult>
{
    /// <summary>Absolute path of an existing program.</summary>
    public required string ProgramPath { get; init; }

    public string Arguments { get; init; } = "";

    /// <summary>Absent: the user's home directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary><c>NAME=value</c> entries; when present they are the complete environment.</summary>
    public IReadOnlyList<string>? Environment { get; init; }
}

/// <summary>The guest pid of a started program.</summary>
public sealed record ProcessIdResult : ChannelResult
{
    public long Pid { get; init; }
}

/// <summary>List the guest's processes (or only <see cref="Pids"/>; unknown ones are skipped), including programs
/// started through the channel that exited in the last five minutes.</summary>
[GuestMethod("ListProcessesInGuest", Privilege = GuestPrivilege.Query)]
public sealed partial record ListProcessesRequest : ChannelRequest, IChannelRequest<ListProcessesResult>
{
    public IReadOnlyList<long>? Pids { get; init; }
}

/// <summary>One process. <see cref="EndTime"/> and <see cref="ExitCode"/> are set only for a started program that
/// has exited; a running process has neither.</summary>
public sealed record GuestProcessEntry
{
    public required string Name { get; init; }

    public long Pid { get; init; }

    public required string Owner { get; init; }

    public required string CommandLine { get; init; }

    public DateTimeOffset StartTime { get; init; }

    public DateTimeOffset? EndTime { get; init; }

    public int? ExitCode { get; init; }
}

public sealed record ListProcessesResult : ChannelResult
{
    public IReadOnlyList<GuestProcessEntry> Processes { get; init; } = [];
}

/// <summary>Terminate a process (its process group): SIGTERM, then SIGKILL after a grace period. Unknown pid:
/// NoSuchProcess; another user's process without the right to signal it: PermissionDenied.</summary>
[GuestMethod("TerminateProcessInGuest", Privilege = GuestPrivilege.Execute, Faults = [GuestErrorCode.NoSuchProcess])]
public sealed partial record TerminateProcessRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public long Pid { get; init; }
}

/// <summary>The environment a program started for this user would get (HOME, USER, LOGNAME, SHELL, PATH, ...),
/// never the worker's own: the named variables that are set, or all.</summary>
[GuestMethod("ReadEnvironmentVariableInGuest", Privilege = GuestPrivilege.Query)]
public sealed partial record ReadEnvironmentRequest : ChannelRequest, IChannelRequest<EnvironmentResult>
{
    public IReadOnlyList<string>? Names { get; init; }
}

/// <summary><c>NAME=value</c> entries.</summary>
public sealed record EnvironmentResult : ChannelResult
{
    public IReadOnlyList<string> Variables { get; init; } = [];
}
