using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using static GuestOps.Tools.Files.FileOperations;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// DeleteFileInGuest and DeleteDirectoryInGuest.
/// Runs as the user (see <see cref="FileOperations"/>).
/// </summary>
internal static class DeleteOperation
{
    /// <summary>Deletes a file or a symlink (never its target); a directory is NotAFile.</summary>
    public static Func<EmptyResult> Prepare(DeleteFileRequest request)
    {
        var path = GuestPath.Parse(request.Path, "file path");
        return () =>
        {
            var own = LStat(path);
            if (own.IsDirectory)
            {
                throw GuestOperationException.IsADirectory(path.Original);
            }

            var rc = PosixIo.UnlinkAt(LibC.AT_FDCWD, path.Z, directory: false);
            if (rc == LibC.EISDIR)
            {
                throw GuestOperationException.IsADirectory(path.Original, rc);
            }

            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, path.Original, "Cannot delete");
            }

            return EmptyResult.Instance;
        };
    }

    // ---------------------------------------------------------------- DeleteDirectory

    /// <summary>
    /// Deletes a directory: without recursive it must be empty (DirectoryNotEmpty); with it the whole tree goes,
    /// symlinks inside removed as links (see <see cref="FileTree.RemoveTree"/>). A path that is not a real directory
    /// (a file, or a symlink even to a directory) is NotADirectory.
    /// </summary>
    public static Func<EmptyResult> Prepare(DeleteDirectoryRequest request)
    {
        var path = GuestPath.Parse(request.Path, "directory path");
        return () =>
        {
            var own = LStat(path);
            if (!own.IsDirectory)
            {
                throw GuestOperationException.NotADirectory(path.Original);
            }

            if (request.Recursive)
            {
                FileTree.RemoveTree(path);
                return EmptyResult.Instance;
            }

            var rc = PosixIo.UnlinkAt(LibC.AT_FDCWD, path.Z, directory: true);
            if (rc is LibC.ENOTEMPTY or LibC.EEXIST)
            {
                throw GuestOperationException.ForPath(GuestErrorCode.DirectoryNotEmpty, path.Original, $"Cannot delete '{path.Original}': the directory is not empty.", rc);
            }

            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, path.Original, "Cannot delete directory");
            }

            return EmptyResult.Instance;
        };
    }
}
