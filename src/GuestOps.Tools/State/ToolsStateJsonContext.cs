using System.Text.Json.Serialization;
using GuestOps.Channel.Messages;

namespace GuestOps.Tools.State;

/// <summary>A file-transfer grant kept in the tools' state directory between the one-shot runs of Initiate and the
/// transfer: the user's identity (never the password), the path, the direction, the size and the expiry.</summary>
internal sealed record GrantRecord(
    bool Upload,
    string UserName,
    uint Uid,
    uint Gid,
    uint[] Groups,
    string Home,
    string Path,
    long Size,
    bool Overwrite,
    GuestFileAttributeChanges Attributes,
    DateTimeOffset Expires);

/// <summary>A program started through a supervisor: written when it starts and again when it exits.</summary>
internal sealed record ProgramRecord(
    int Pid,
    string Name,
    string Owner,
    string CommandLine,
    DateTimeOffset StartTime,
    DateTimeOffset? EndTime,
    int? ExitCode,
    int SupervisorPid);

/// <summary>Source-generated JSON of the state files (NativeAOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GrantRecord))]
[JsonSerializable(typeof(ProgramRecord))]
internal sealed partial class ToolsStateJsonContext : JsonSerializerContext;
