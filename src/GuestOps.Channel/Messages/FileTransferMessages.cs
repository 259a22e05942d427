using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

// File transfers (vSphere InitiateFileTransferToGuest / FromGuest). Two steps, like the vSphere API: an initiate
// request authenticates the credential and validates everything that can be checked up front, then records a
// single-use grant in the worker (bound to the user, the path, the direction and the size; never the password). The
// transfer itself names only the grant and carries the bytes as the call's data stream.

/// <summary>Validate an upload as the user (parent directory, overwrite, permissions) and grant it.</summary>
[GuestMethod("InitiateFileTransferToGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.FileAlreadyExists, GuestErrorCode.NotADirectory, GuestErrorCode.NotAFile, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong])]
public sealed partial record InitiateUploadRequest : ChannelRequest, IChannelRequest<TransferGrantResult>
{
    public required string Path { get; init; }

    /// <summary>The exact byte count the upload will carry.</summary>
    public long Size { get; init; }

    /// <summary>Replace an existing file; without it an existing file is FileAlreadyExists.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Attributes the file gets once complete; unset ones take the defaults (permissions 0644, owner the user,
    /// times of the upload).</summary>
    public GuestFileAttributeChanges Attributes { get; init; } = new();

    /// <summary>How long the grant stays valid.</summary>
    public int LifetimeSeconds { get; init; } = 600;
}

/// <summary>Validate a download as the user (a regular file it may read) and grant it.</summary>
[GuestMethod("InitiateFileTransferFromGuest", Privilege = GuestPrivilege.Query, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.NotAFile, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong])]
public sealed partial record InitiateDownloadRequest : ChannelRequest, IChannelRequest<TransferGrantResult>
{
    public required string Path { get; init; }

    /// <summary>How long the grant stays valid.</summary>
    public int LifetimeSeconds { get; init; } = 600;
}

/// <summary>A granted transfer: its single-use id in the worker, the user it runs as, and for downloads the file.</summary>
public sealed record TransferGrantResult : ChannelResult
{
    /// <summary>Unguessable id, valid once, until it expires or the worker restarts.</summary>
    public required string Grant { get; init; }

    /// <summary>The authenticated guest user the transfer acts as.</summary>
    public required string User { get; init; }

    /// <summary>For downloads: the file as it is now (its size is what the download sends).</summary>
    public GuestFileEntry? File { get; init; }
}

/// <summary>
/// Perform a granted upload: the request's data stream is the file content. It is written to a temporary file next to
/// the target as the user, checked against the granted size, given its attributes and renamed into place; anything
/// short of that removes the temporary file and leaves the target untouched.
/// </summary>
[GuestMethod("FileTransferToGuest", Privilege = GuestPrivilege.Modify, Faults = [GuestErrorCode.TransferNotGranted, GuestErrorCode.FileAccessError, GuestErrorCode.NoDiskSpace])]
public sealed partial record UploadRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public required string Grant { get; init; }
}

/// <summary>
/// Perform a granted download: the response's data stream is exactly the granted size of the file; a file that
/// changed size since the grant is refused before any byte is sent.
/// </summary>
[GuestMethod("FileTransferFromGuest", Privilege = GuestPrivilege.Query, Faults = [GuestErrorCode.TransferNotGranted, GuestErrorCode.FileAccessError])]
public sealed partial record DownloadRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public required string Grant { get; init; }
}
