using System.Security.Cryptography;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Native;

namespace GuestOps.Tools.Files;

/// <summary>
/// The GuestFileManager operations other than listing, with the reference semantics (vim25 3.4, fault table 5.1).
/// Each <c>Prepare</c> validates the request on any thread (InvalidArgument for empty, relative or NUL-containing
/// paths) and returns the work, which must run on the impersonated thread: every system call it makes is a permission
/// check for that user, so "user B cannot delete A's file" is the kernel's answer, not ours.
/// <para>
/// Object kinds are decided with lstat (a symlink is never mistaken for what it points to), except where the
/// reference says a symlink path means its target (ChangeFileAttributes). Trailing slashes are ignored.
/// </para>
/// </summary>
internal static class FileOperations
{
    private const uint DirectoryMode = 0x1FF; // 0777 & ~umask, as mkdir(1)
    private const uint TemporaryFileMode = 0x180; // 0600
    private const uint TemporaryDirectoryMode = 0x1C0; // 0700
    private const int TemporaryAttempts = 100;
    private const int TemporaryRandomLength = 10;
    private const string TemporaryAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>The system temporary directory the per-user one is made in (see <see cref="DefaultTemporaryDirectory"/>).</summary>
    internal const string TemporaryRoot = "/tmp";

    // ---------------------------------------------------------------- MakeDirectory

    /// <summary>
    /// mkdir; with createParents, like <c>mkdir -p</c>: missing parents are created and an existing directory is
    /// fine. Without it an existing path is FileAlreadyExists and a missing parent FileNotFound. With it, an existing
    /// non-directory at the path is FileAlreadyExists and one on the way NotADirectory.
    /// </summary>
    public static Func<EmptyResult> Prepare(MakeDirectoryRequest request)
    {
        var path = GuestPath.Parse(request.Path, "directory path");
        return () =>
        {
            if (request.CreateParents)
            {
                MakeDirectories(path);
            }
            else
            {
                var rc = PosixIo.MkdirAt(LibC.AT_FDCWD, path.Z, DirectoryMode);
                if (rc != 0)
                {
                    throw GuestOperationException.FromErrno(rc, path.Original, "Cannot create directory");
                }
            }

            return EmptyResult.Instance;
        };
    }

    private static void MakeDirectories(GuestPath path)
    {
        // Bottom-up like mkdir -p: try the path, create missing ancestors only when needed (existing ancestors are
        // never touched, so read-only or unwritable parents of an existing directory do not matter).
        var missing = new Stack<GuestPath>();
        var current = path;
        while (true)
        {
            var rc = current.IsRoot ? LibC.EEXIST : PosixIo.MkdirAt(LibC.AT_FDCWD, current.Z, DirectoryMode);
            if (rc == 0)
            {
                break;
            }

            if (rc == LibC.EEXIST)
            {
                if (PosixFs.Stat(LibC.AT_FDCWD, current.Z, follow: true, out var st) == 0 && st.IsDirectory)
                {
                    break;
                }

                throw current == path
                    ? GuestOperationException.ForPath(GuestErrorCode.FileAlreadyExists, path.Original, $"Cannot create directory '{path.Original}': a file with that name exists.", rc)
                    : GuestOperationException.ForPath(GuestErrorCode.NotADirectory, current.Value, $"Cannot create directory '{path.Original}': '{current.Value}' is not a directory.", LibC.ENOTDIR);
            }

            if (rc == LibC.ENOENT && !current.IsRoot)
            {
                missing.Push(current);
                current = GuestPath.Parse(current.Parent);
                continue;
            }

            if (rc == LibC.ENOTDIR)
            {
                var blocker = FirstNonDirectoryAncestor(current) ?? current.Value;
                throw GuestOperationException.ForPath(GuestErrorCode.NotADirectory, blocker, $"Cannot create directory '{path.Original}': '{blocker}' is not a directory.", rc);
            }

            throw GuestOperationException.FromErrno(rc, current.Original, "Cannot create directory");
        }

        while (missing.Count > 0)
        {
            var next = missing.Pop();
            var rc = PosixIo.MkdirAt(LibC.AT_FDCWD, next.Z, DirectoryMode);
            if (rc == LibC.EEXIST && PosixFs.Stat(LibC.AT_FDCWD, next.Z, follow: true, out var st) == 0 && st.IsDirectory)
            {
                continue; // created concurrently: fine
            }

            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, next.Original, "Cannot create directory");
            }
        }
    }

    /// <summary>The deepest existing ancestor of <paramref name="path"/> that is not a directory, if any.</summary>
    private static string? FirstNonDirectoryAncestor(GuestPath path)
    {
        var current = path;
        while (!current.IsRoot)
        {
            current = GuestPath.Parse(current.Parent);
            if (PosixFs.Stat(LibC.AT_FDCWD, current.Z, follow: true, out var st) == 0)
            {
                return st.IsDirectory ? null : current.Value;
            }
        }

        return null;
    }

    // ---------------------------------------------------------------- DeleteFile

    /// <summary>Deletes a file or a symlink (never its target); a directory is NotAFile.</summary>
    public static Func<EmptyResult> Prepare(DeleteFileRequest request)
    {
        var path = GuestPath.Parse(request.Path, "file path");
        return () =>
        {
            var own = LStat(path);
            if (own.IsDirectory)
            {
                throw GuestOperationException.ForPath(GuestErrorCode.NotAFile, path.Original, $"'{path.Original}' is a directory, not a file.");
            }

            var rc = PosixIo.UnlinkAt(LibC.AT_FDCWD, path.Z, directory: false);
            if (rc == LibC.EISDIR)
            {
                throw GuestOperationException.ForPath(GuestErrorCode.NotAFile, path.Original, $"'{path.Original}' is a directory, not a file.", rc);
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
                throw GuestOperationException.ForPath(GuestErrorCode.NotADirectory, path.Original, $"'{path.Original}' is not a directory.");
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

    // ---------------------------------------------------------------- MoveFile

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
                throw GuestOperationException.ForPath(GuestErrorCode.NotAFile, source.Original, $"'{source.Original}' is a directory, not a file.");
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
                throw GuestOperationException.ForPath(GuestErrorCode.NotADirectory, source.Original, $"'{source.Original}' is not a directory.");
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

    // ---------------------------------------------------------------- ChangeFileAttributes

    /// <summary>
    /// POSIX attributes, each only when set (see <see cref="FileAttributeChanges"/>). A symlink path changes its
    /// target. Windows attributes on this (Linux) guest are NotSupported.
    /// </summary>
    public static Func<EmptyResult> Prepare(ChangeFileAttributesRequest request)
    {
        var path = GuestPath.Parse(request.Path, "file path");
        var attributes = request.Attributes ?? new GuestFileAttributeChanges();
        FileAttributeChanges.Validate(attributes, request.Path);
        return () =>
        {
            var st = PosixFs.Stat(LibC.AT_FDCWD, path.Z, follow: true, out _);
            if (st != 0)
            {
                throw GuestOperationException.FromErrno(st, path.Original, "Cannot access");
            }

            FileAttributeChanges.Apply(path, attributes);
            return EmptyResult.Instance;
        };
    }

    // ---------------------------------------------------------------- CreateTemporary

    /// <summary>
    /// Atomically creates <c>directory/prefix + random + suffix</c>: a file with O_CREAT|O_EXCL|O_NOFOLLOW and mode
    /// 0600, or a directory with mkdir and mode 0700, owned by the user (it is created on the user's thread); a name
    /// collision is retried with a new random part. The directory must exist (FileNotFound) and be a directory
    /// (NotADirectory). Without one, the user's own temporary directory (<see cref="DefaultTemporaryDirectory"/>).
    /// </summary>
    public static Func<PathResult> Prepare(CreateTemporaryRequest request, GuestUser user)
    {
        var directory = GuestPath.ParseOptional(request.Directory, "directory path");
        foreach (var (part, what) in new[] { (request.Prefix ?? "", "prefix"), (request.Suffix ?? "", "suffix") })
        {
            if (part.Contains('/') || part.Contains('\0'))
            {
                throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"The {what} '{part.Replace("\0", "\\0", StringComparison.Ordinal)}' must not contain '/' or NUL.") { Path = request.Directory };
            }
        }

        return () =>
        {
            var dir = directory ?? DefaultTemporaryDirectory(user, TemporaryRoot);
            var st = PosixFs.Stat(LibC.AT_FDCWD, dir.Z, follow: true, out var status);
            if (st != 0)
            {
                throw GuestOperationException.FromErrno(st, dir.Original, "Cannot use directory");
            }

            if (!status.IsDirectory)
            {
                throw GuestOperationException.ForPath(GuestErrorCode.NotADirectory, dir.Original, $"'{dir.Original}' is not a directory.");
            }

            for (var attempt = 0; attempt < TemporaryAttempts; attempt++)
            {
                var name = (request.Prefix ?? "") + RandomNumberGenerator.GetString(TemporaryAlphabet, TemporaryRandomLength) + (request.Suffix ?? "");
                var candidate = dir.Child(name);
                var rc = request.IsDirectory ? CreateTemporaryDirectory(candidate) : CreateTemporaryFile(candidate);
                if (rc == 0)
                {
                    return new PathResult { Path = candidate.Value };
                }

                if (rc != LibC.EEXIST)
                {
                    throw GuestOperationException.FromErrno(rc, rc == LibC.ENAMETOOLONG ? candidate.Value : dir.Original, request.IsDirectory ? "Cannot create a temporary directory in" : "Cannot create a temporary file in");
                }
            }

            throw GuestOperationException.ForPath(GuestErrorCode.FileAlreadyExists, dir.Original, $"Cannot find an unused temporary name in '{dir.Original}'.");
        };
    }

    private static int CreateTemporaryFile(GuestPath path)
    {
        var rc = PosixIo.OpenAt(LibC.AT_FDCWD, path.Z, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW | LibC.O_NOCTTY, TemporaryFileMode, out var fd);
        if (rc != 0)
        {
            return rc;
        }

        try
        {
            return LibC.fchmod(fd, TemporaryFileMode) == 0 ? 0 : PosixIo.LastError(); // exact mode whatever the umask
        }
        finally
        {
            PosixIo.Close(fd);
        }
    }

    private static int CreateTemporaryDirectory(GuestPath path)
    {
        var rc = PosixIo.MkdirAt(LibC.AT_FDCWD, path.Z, TemporaryDirectoryMode);
        if (rc != 0)
        {
            return rc;
        }

        rc = PosixIo.OpenDirectoryNoFollow(LibC.AT_FDCWD, path.Z, out var fd);
        if (rc != 0)
        {
            return rc;
        }

        try
        {
            return LibC.fchmod(fd, TemporaryDirectoryMode) == 0 ? 0 : PosixIo.LastError();
        }
        finally
        {
            PosixIo.Close(fd);
        }
    }

    /// <summary>
    /// The user's own temporary directory, as open-vm-tools picks it on Linux (a per-user safe directory):
    /// <c>/tmp/vmware-&lt;user&gt;</c>, created 0700 by the user on first use. It is used only if it really is a
    /// directory (not a symlink) owned by the user with no group/other permissions; if someone else squatted the
    /// name, <c>/tmp</c> itself is used — still safe, because the entry itself is created exclusively (O_EXCL /
    /// mkdir) with a random name and owner-only permissions, and /tmp's sticky bit keeps others from removing it.
    /// </summary>
    internal static GuestPath DefaultTemporaryDirectory(GuestUser user, string temporaryRoot)
    {
        var root = GuestPath.Parse(temporaryRoot);
        if (user.Name.Length == 0 || user.Name.Contains('/') || user.Name.Contains('\0'))
        {
            return root;
        }

        var mine = root.Child("vmware-" + user.Name);
        var rc = PosixIo.MkdirAt(LibC.AT_FDCWD, mine.Z, TemporaryDirectoryMode);
        if (rc != 0 && rc != LibC.EEXIST)
        {
            return root;
        }

        rc = PosixIo.OpenDirectoryNoFollow(LibC.AT_FDCWD, mine.Z, out var fd);
        if (rc != 0)
        {
            return root;
        }

        try
        {
            if (PosixIo.StatFd(fd, out var st) != 0 || !st.IsDirectory || st.Uid != user.Uid)
            {
                return root;
            }

            if ((st.Mode & 0x3F) != 0 && LibC.fchmod(fd, TemporaryDirectoryMode) != 0)
            {
                return root;
            }

            return mine;
        }
        finally
        {
            PosixIo.Close(fd);
        }
    }

    // ---------------------------------------------------------------- helpers

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
