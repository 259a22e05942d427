using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;

namespace GuestOps.Tools.Files;

/// <summary>
/// What the file operations share (<see cref="MakeDirectoryOperation"/>, <see cref="DeleteOperation"/>,
/// <see cref="MoveOperation"/>, <see cref="ChangeFileAttributesOperation"/>, <see cref="CreateTemporaryOperation"/>,
/// <see cref="FileTransfers"/>): lstat, the guest error of an existing path, the letters of generated names.
/// </summary>
internal static class FileOperations
{
    /// <summary>The letters of random names (temporary files, staging names).</summary>
    internal const string TemporaryAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    internal static FileStatus LStat(GuestPath path)
    {
        var rc = PosixFs.Stat(LibC.AT_FDCWD, path.Z, follow: false, out var status);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, path.Original, "Cannot access");
        }

        return status;
    }

    internal static GuestOperationException Exists(GuestPath path, int? errno = null) =>
        GuestOperationException.ForPath(GuestErrorCode.FileAlreadyExists, path.Original, $"'{path.Original}' already exists.", errno);
}
