using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// The GuestFileManager operations other than listing are one class each, with a <c>Prepare</c> that validates the
/// request on any thread (InvalidArgument for empty, relative or NUL-containing paths) and returns the work, which
/// must run on the impersonated thread: every system call it makes is a permission check for that user, so "user B
/// cannot delete A's file" is the kernel's answer. Object kinds are decided with lstat (a symlink is never mistaken
/// for what it points to) except where a symlink path means its target (ChangeFileAttributes); trailing slashes are
/// ignored. This class holds what they share (<see cref="MakeDirectoryOperation"/>, <see cref="DeleteOperation"/>,
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
