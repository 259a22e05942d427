using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

// File and directory operations (vSphere GuestFileManager), performed in the guest as the credential's user.
// Paths are absolute guest paths; relative, empty or NUL-containing paths are InvalidArgument.

/// <summary>Create a directory; with <see cref="CreateParents"/>, missing parents too (an existing directory is then fine).</summary>
[GuestMethod("MakeDirectoryInGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileAlreadyExists, GuestErrorCode.FileNotFound, GuestErrorCode.NotADirectory, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong, GuestErrorCode.NoDiskSpace])]
public sealed partial record MakeDirectoryRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public required string Path { get; init; }

    public bool CreateParents { get; init; }
}

/// <summary>Delete a file or a symbolic link (never its target); a directory is NotAFile.</summary>
[GuestMethod("DeleteFileInGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.NotAFile, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong, GuestErrorCode.FileLocked])]
public sealed partial record DeleteFileRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public required string Path { get; init; }
}

/// <summary>Delete a directory; without <see cref="Recursive"/> it must be empty (else DirectoryNotEmpty).</summary>
[GuestMethod("DeleteDirectoryInGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.NotADirectory, GuestErrorCode.DirectoryNotEmpty, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong])]
public sealed partial record DeleteDirectoryRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public required string Path { get; init; }

    public bool Recursive { get; init; }
}

/// <summary>Rename a file or symlink; an existing destination file is replaced only with <see cref="Overwrite"/>;
/// a destination directory is FileAlreadyExists; a source directory is NotAFile.</summary>
[GuestMethod("MoveFileInGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.FileAlreadyExists, GuestErrorCode.NotAFile, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong, GuestErrorCode.NoDiskSpace])]
public sealed partial record MoveFileRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public required string Source { get; init; }

    public required string Destination { get; init; }

    public bool Overwrite { get; init; }
}

/// <summary>Rename a directory; the destination must not exist; a source that is not a real directory is NotADirectory.</summary>
[GuestMethod("MoveDirectoryInGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.FileAlreadyExists, GuestErrorCode.NotADirectory, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong])]
public sealed partial record MoveDirectoryRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public required string Source { get; init; }

    public required string Destination { get; init; }
}

/// <summary>Atomically create a uniquely named file (0600) or directory (0700) owned by the user:
/// <c>Directory/prefix + random + suffix</c>; an absent directory means the user's temporary directory.</summary>
public abstract record CreateTemporaryRequest : ChannelRequest, IChannelRequest<PathResult>
{
    /// <summary>A directory rather than a file.</summary>
    [JsonIgnore]
    public abstract bool IsDirectory { get; }

    public string Prefix { get; init; } = "";

    public string Suffix { get; init; } = "";

    public string? Directory { get; init; }
}

/// <summary>Create a temporary file (0600).</summary>
[GuestMethod("CreateTemporaryFileInGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.NotADirectory, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong, GuestErrorCode.NoDiskSpace])]
public sealed partial record CreateTemporaryFileRequest : CreateTemporaryRequest
{
    [JsonIgnore]
    public override bool IsDirectory => false;
}

/// <summary>Create a temporary directory (0700).</summary>
[GuestMethod("CreateTemporaryDirectoryInGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.NotADirectory, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong, GuestErrorCode.NoDiskSpace])]
public sealed partial record CreateTemporaryDirectoryRequest : CreateTemporaryRequest
{
    [JsonIgnore]
    public override bool IsDirectory => true;
}

/// <summary>Which OS's attribute set a <see cref="ChangeFileAttributesRequest"/> carries.</summary>
public enum GuestAttributeKind
{
    Posix = 0,
    Windows = 1,
}

/// <summary>File attributes to set: each only when present (vSphere GuestPosixFileAttributes / GuestWindowsFileAttributes).
/// A guest of the other OS family answers NotSupported.</summary>
public sealed record GuestFileAttributeChanges
{
    public GuestAttributeKind Kind { get; init; }

    public DateTimeOffset? ModificationTime { get; init; }

    public DateTimeOffset? AccessTime { get; init; }

    public int? OwnerId { get; init; }

    public int? GroupId { get; init; }

    /// <summary>chmod(2) permission bits (type bits ignored).</summary>
    public long? Permissions { get; init; }

    public bool? Hidden { get; init; }

    public bool? ReadOnly { get; init; }
}

/// <summary>Change attributes of a file or directory (a symlink path changes its target); unset ones stay as they are.</summary>
[GuestMethod("ChangeFileAttributesInGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong, GuestErrorCode.NotSupported])]
public sealed partial record ChangeFileAttributesRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public required string Path { get; init; }

    public GuestFileAttributeChanges Attributes { get; init; } = new();
}

/// <summary>A path the guest created.</summary>
public sealed record PathResult : ChannelResult
{
    public required string Path { get; init; }
}
