using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// MakeDirectoryInGuest.
/// Runs as the user (see <see cref="FileOperations"/>).
/// </summary>
internal static class MakeDirectoryOperation
{
    private const uint DirectoryMode = 0x1FF; // 0777 & ~umask, as mkdir(1)

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
}
