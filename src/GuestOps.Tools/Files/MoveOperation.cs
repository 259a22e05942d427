using System.Security.Cryptography;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using static GuestOps.Tools.Files.FileOperations;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// MoveFileInGuest and MoveDirectoryInGuest.
/// Runs as the user (see <see cref="FileOperations"/>).
/// </summary>
internal static class MoveOperation
{
    /// <summary>
    /// Renames a file or symlink. Source missing: FileNotFound; source a directory: NotAFile; destination a
    /// directory: FileAlreadyExists; destination existing without overwrite: FileAlreadyExists (atomically, with
    /// renameat2(RENAME_NOREPLACE) where the file system supports it). Across file systems the object is copied
    /// (content, permissions, times; owner when root) next to the destination and renamed into place, then the
    /// source is removed.
    /// </summary>
    public static Func<EmptyResult> Prepare(MoveFileRequest request)
    {
        var source = GuestPath.Parse(request.Source, "source path");
        var destination = GuestPath.Parse(request.Destination, "destination path");
        return () =>
        {
            var src = LStat(source);
            if (src.IsDirectory)
            {
                throw GuestOperationException.IsADirectory(source.Original);
            }

            var dstRc = PosixFs.Stat(LibC.AT_FDCWD, destination.Z, follow: false, out var dst);
            if (dstRc == 0)
            {
                if (dst.IsDirectory)
                {
                    throw GuestOperationException.ForPath(GuestErrorCode.FileAlreadyExists, destination.Original, $"Cannot move to '{destination.Original}': it is a directory.");
                }

                if (!request.Overwrite)
                {
                    throw Exists(destination);
                }
            }
            else if (dstRc != LibC.ENOENT)
            {
                throw GuestOperationException.FromErrno(dstRc, destination.Original, "Cannot access");
            }

            var rc = Rename(source, destination, noReplace: !request.Overwrite);
            if (rc == LibC.EXDEV)
            {
                MoveAcrossFileSystems(source, src, destination, request.Overwrite);
                return EmptyResult.Instance;
            }

            ThrowRenameError(rc, source, destination, directory: false);
            return EmptyResult.Instance;
        };
    }

    private static void MoveAcrossFileSystems(GuestPath source, FileStatus status, GuestPath destination, bool overwrite)
    {
        var staging = StagingName(destination);
        FileTree.CopyEntry(LibC.AT_FDCWD, source.Z, source.Original, status, LibC.AT_FDCWD, staging.Z, destination.Original);
        var rc = Rename(staging, destination, noReplace: !overwrite);
        if (rc != 0)
        {
            _ = PosixIo.UnlinkAt(LibC.AT_FDCWD, staging.Z, directory: false);
            ThrowRenameError(rc, source, destination, directory: false);
        }

        rc = PosixIo.UnlinkAt(LibC.AT_FDCWD, source.Z, directory: false);
        if (rc != 0 && rc != LibC.ENOENT)
        {
            // The source cannot be removed (e.g. a sticky directory): undo, so a failed move changes nothing.
            _ = PosixIo.UnlinkAt(LibC.AT_FDCWD, destination.Z, directory: false);
            throw GuestOperationException.FromErrno(rc, source.Original, "Cannot move");
        }
    }

    // ---------------------------------------------------------------- MoveDirectory

    /// <summary>
    /// Renames a directory. The source must be a real directory (a symlink or file is NotADirectory); the
    /// destination must not exist in any form (FileAlreadyExists). Across file systems the tree is copied (see
    /// <see cref="FileTree.CopyTree"/>) and the source removed.
    /// </summary>
    public static Func<EmptyResult> Prepare(MoveDirectoryRequest request)
    {
        var source = GuestPath.Parse(request.Source, "source path");
        var destination = GuestPath.Parse(request.Destination, "destination path");
        return () =>
        {
            var src = LStat(source);
            if (!src.IsDirectory)
            {
                throw GuestOperationException.NotADirectory(source.Original);
            }

            var dstRc = PosixFs.Stat(LibC.AT_FDCWD, destination.Z, follow: false, out _);
            if (dstRc == 0)
            {
                throw Exists(destination);
            }

            if (dstRc != LibC.ENOENT)
            {
                throw GuestOperationException.FromErrno(dstRc, destination.Original, "Cannot access");
            }

            var rc = Rename(source, destination, noReplace: true);
            if (rc == LibC.EXDEV)
            {
                var staging = StagingName(destination);
                FileTree.CopyTree(source, staging);
                rc = Rename(staging, destination, noReplace: true);
                if (rc != 0)
                {
                    TryRemoveTree(staging);
                    ThrowRenameError(rc, source, destination, directory: true);
                }

                try
                {
                    FileTree.RemoveTree(source);
                }
                catch (GuestOperationException)
                {
                    // Could not remove the source (e.g. an entry the user may not delete): undo the copy.
                    TryRemoveTree(destination);
                    throw;
                }

                return EmptyResult.Instance;
            }

            ThrowRenameError(rc, source, destination, directory: true);
            return EmptyResult.Instance;
        };
    }

    private static void TryRemoveTree(GuestPath path)
    {
        try
        {
            FileTree.RemoveTree(path);
        }
        catch (GuestOperationException)
        {
        }
    }

    /// <summary>
    /// rename/renameat2. Where RENAME_NOREPLACE is unsupported (old kernel: ENOSYS; some file systems: EINVAL) the
    /// no-replace check falls back to lstat-then-rename, which is not atomic but is what the file system allows.
    /// </summary>
    internal static int Rename(GuestPath from, GuestPath to, bool noReplace)
    {
        var rc = PosixIo.Rename(LibC.AT_FDCWD, from.Z, LibC.AT_FDCWD, to.Z, noReplace);
        if (noReplace && rc is LibC.ENOSYS or LibC.EINVAL or LibC.EOPNOTSUPP)
        {
            if (PosixFs.Stat(LibC.AT_FDCWD, to.Z, follow: false, out _) == 0)
            {
                return LibC.EEXIST;
            }

            rc = PosixIo.Rename(LibC.AT_FDCWD, from.Z, LibC.AT_FDCWD, to.Z, noReplace: false);
        }

        return rc;
    }

    private static void ThrowRenameError(int rc, GuestPath source, GuestPath destination, bool directory)
    {
        switch (rc)
        {
            case 0:
                return;
            case LibC.EEXIST or LibC.ENOTEMPTY or LibC.EISDIR:
                throw Exists(destination, rc);
            case LibC.EINVAL:
                throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"Cannot move '{source.Original}' to '{destination.Original}': a directory cannot be moved into itself.") { Path = destination.Original, OsError = rc };
            case LibC.ENOTDIR when directory:
                throw GuestOperationException.ForPath(GuestErrorCode.NotADirectory, destination.Original, $"Cannot move '{source.Original}' to '{destination.Original}': not a directory.", rc);
            case LibC.ENOENT or LibC.ENOTDIR:
                // The source was checked just before, so the destination's directory is what is missing.
                var sourceGone = PosixFs.Stat(LibC.AT_FDCWD, source.Z, follow: false, out _) == LibC.ENOENT;
                throw GuestOperationException.FromErrno(rc, sourceGone ? source.Original : destination.Original, "Cannot move to");
            default:
                throw GuestOperationException.FromErrno(rc, destination.Original, $"Cannot move '{source.Original}' to");
        }
    }

    private static GuestPath StagingName(GuestPath destination)
    {
        var parent = GuestPath.Parse(destination.Parent);
        return parent.Child(".guestops-move-" + RandomNumberGenerator.GetString(TemporaryAlphabet, 12));
    }
}
