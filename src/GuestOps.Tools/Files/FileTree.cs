using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// Whole-tree work (recursive delete, cross-file-system copy) done with descriptor-relative calls only: each level is
/// opened with <c>O_NOFOLLOW|O_DIRECTORY</c> relative to its parent's descriptor and every entry is examined with
/// lstat semantics, so a symlink anywhere in the tree is removed or copied as a link and never followed out of it,
/// even if someone swaps a directory for a symlink while the walk runs. The walk is iterative (an explicit stack of
/// open directories), so deep trees cannot overflow the small impersonation-thread stacks; depth is bounded by
/// <see cref="MaxDepth"/> open descriptors.
/// </summary>
internal static class FileTree
{
    /// <summary>Deepest directory nesting handled (one open descriptor per level).</summary>
    public const int MaxDepth = 1024;

    private const int CopyBufferSize = 128 * 1024;

    /// <summary>How often a directory whose rmdir found new entries is re-scanned before giving up.</summary>
    private const int RescanLimit = 3;

    private sealed class Frame(int fd, string path, byte[]? nameZ, List<DirectoryEntry> entries)
    {
        public int Fd { get; } = fd;

        public string Path { get; } = path;

        /// <summary>Name in the parent frame's directory (null for the top).</summary>
        public byte[]? NameZ { get; } = nameZ;

        public List<DirectoryEntry> Entries { get; set; } = entries;

        public int Next { get; set; }

        public int Rescans { get; set; }
    }

    /// <summary>Removes the directory <paramref name="top"/> and everything below it (like <c>rm -r</c>).</summary>
    public static void RemoveTree(GuestPath top)
    {
        var rc = PosixIo.OpenDirectoryNoFollow(LibC.AT_FDCWD, top.Z, out var topFd);
        if (rc is LibC.ELOOP or LibC.ENOTDIR)
        {
            throw GuestOperationException.NotADirectory(top.Original, rc);
        }

        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, top.Original, "Cannot open directory");
        }

        var stack = new Stack<Frame>();
        try
        {
            rc = PosixIo.ReadEntries(topFd, out var entries);
            if (rc != 0)
            {
                PosixIo.Close(topFd);
                throw GuestOperationException.FromErrno(rc, top.Original, "Cannot read directory");
            }

            stack.Push(new Frame(topFd, top.Value, null, entries));
            while (stack.Count > 0)
            {
                var frame = stack.Peek();
                if (frame.Next < frame.Entries.Count)
                {
                    var entry = frame.Entries[frame.Next++];
                    var child = OpenChildForRemoval(frame, entry, stack.Count);
                    if (child is not null)
                    {
                        stack.Push(child);
                    }

                    continue;
                }

                // Every entry handled: remove the directory itself (from its parent's descriptor).
                var parentFd = stack.Count > 1 ? stack.ElementAt(1).Fd : LibC.AT_FDCWD;
                var nameZ = frame.NameZ ?? top.Z;
                rc = PosixIo.UnlinkAt(parentFd, nameZ, directory: true);
                if (rc is LibC.ENOTEMPTY or LibC.EEXIST && frame.Rescans < RescanLimit)
                {
                    // Something was created meanwhile: scan again.
                    frame.Rescans++;
                    var rescan = PosixIo.ReadEntries(frame.Fd, out var again);
                    if (rescan != 0)
                    {
                        throw GuestOperationException.FromErrno(rescan, frame.Path, "Cannot read directory");
                    }

                    frame.Entries = again;
                    frame.Next = 0;
                    continue;
                }

                stack.Pop();
                PosixIo.Close(frame.Fd);
                if (rc != 0 && !(rc == LibC.ENOENT && frame.NameZ is not null))
                {
                    throw GuestOperationException.FromErrno(rc, frame.NameZ is null ? top.Original : frame.Path, "Cannot delete");
                }
            }
        }
        finally
        {
            while (stack.Count > 0)
            {
                PosixIo.Close(stack.Pop().Fd);
            }
        }
    }

    /// <summary>Removes a non-directory entry, or opens a directory entry as a new frame.</summary>
    private static Frame? OpenChildForRemoval(Frame frame, DirectoryEntry entry, int depth)
    {
        var path = frame.Path == "/" ? "/" + entry.Name : frame.Path + "/" + entry.Name;
        var isDirectory = entry.Type == LibC.DT_DIR;
        if (entry.Type == LibC.DT_UNKNOWN)
        {
            var st = PosixFs.Stat(frame.Fd, entry.NameZ, follow: false, out var status);
            if (st == LibC.ENOENT)
            {
                return null;
            }

            if (st != 0)
            {
                throw GuestOperationException.FromErrno(st, path, "Cannot access");
            }

            isDirectory = status.IsDirectory;
        }

        if (!isDirectory)
        {
            var rc = PosixIo.UnlinkAt(frame.Fd, entry.NameZ, directory: false);
            if (rc is 0 or LibC.ENOENT)
            {
                return null;
            }

            if (rc != LibC.EISDIR && rc != LibC.EPERM)
            {
                throw GuestOperationException.FromErrno(rc, path, "Cannot delete");
            }

            // EISDIR (or EPERM, which unlink(2) may return for a directory): it became a directory; descend.
            if (PosixFs.Stat(frame.Fd, entry.NameZ, follow: false, out var again) != 0 || !again.IsDirectory)
            {
                throw GuestOperationException.FromErrno(rc, path, "Cannot delete");
            }
        }

        if (depth >= MaxDepth)
        {
            throw GuestOperationException.ForPath(GuestErrorCode.FileAccessError, path, $"Cannot delete '{path}': the tree is nested deeper than {MaxDepth} levels.");
        }

        var open = PosixIo.OpenDirectoryNoFollow(frame.Fd, entry.NameZ, out var fd);
        switch (open)
        {
            case 0:
                break;
            case LibC.ENOENT:
                return null;
            case LibC.ELOOP or LibC.ENOTDIR:
            {
                // Replaced by a symlink or file since it was listed: remove that entry, do not follow it.
                var rc = PosixIo.UnlinkAt(frame.Fd, entry.NameZ, directory: false);
                if (rc is 0 or LibC.ENOENT)
                {
                    return null;
                }

                throw GuestOperationException.FromErrno(rc, path, "Cannot delete");
            }

            default:
                throw GuestOperationException.FromErrno(open, path, "Cannot open directory");
        }

        var read = PosixIo.ReadEntries(fd, out var children);
        if (read != 0)
        {
            PosixIo.Close(fd);
            throw GuestOperationException.FromErrno(read, path, "Cannot read directory");
        }

        return new Frame(fd, path, entry.NameZ, children);
    }

    /// <summary>
    /// Copies the real directory <paramref name="source"/> with everything below it to the new directory
    /// <paramref name="destination"/> (which must not exist): directories, regular files and symlinks (as links), with
    /// permissions and times, and owners when the caller is root. Other file types (devices, fifos, sockets) are
    /// refused. On failure the partial copy is removed.
    /// </summary>
    public static void CopyTree(GuestPath source, GuestPath destination)
    {
        var rc = PosixIo.OpenDirectoryNoFollow(LibC.AT_FDCWD, source.Z, out var srcTop);
        if (rc != 0)
        {
            throw rc is LibC.ELOOP or LibC.ENOTDIR
                ? GuestOperationException.NotADirectory(source.Original, rc)
                : GuestOperationException.FromErrno(rc, source.Original, "Cannot open directory");
        }

        var created = false;
        var pending = new Stack<(int Src, int Dst, string SrcPath, string DstPath, List<DirectoryEntry> Entries, int Next, FileStatus Status)>();
        try
        {
            rc = PosixIo.StatFd(srcTop, out var topStatus);
            if (rc == 0)
            {
                rc = PosixIo.MkdirAt(LibC.AT_FDCWD, destination.Z, 0x1C0);
            }

            if (rc != 0)
            {
                PosixIo.Close(srcTop);
                throw GuestOperationException.FromErrno(rc, destination.Original, "Cannot create directory");
            }

            created = true;
            rc = PosixIo.OpenDirectoryNoFollow(LibC.AT_FDCWD, destination.Z, out var dstTop);
            if (rc != 0)
            {
                PosixIo.Close(srcTop);
                throw GuestOperationException.FromErrno(rc, destination.Original, "Cannot open directory");
            }

            rc = PosixIo.ReadEntries(srcTop, out var topEntries);
            pending.Push((srcTop, dstTop, source.Value, destination.Value, topEntries, 0, topStatus));
            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, source.Original, "Cannot read directory");
            }

            while (pending.Count > 0)
            {
                var frame = pending.Pop();
                if (frame.Next >= frame.Entries.Count)
                {
                    try
                    {
                        ApplyAttributes(frame.Dst, frame.Status, frame.DstPath);
                    }
                    finally
                    {
                        PosixIo.Close(frame.Src);
                        PosixIo.Close(frame.Dst);
                    }

                    continue;
                }

                var entry = frame.Entries[frame.Next];
                pending.Push(frame with { Next = frame.Next + 1 });
                var srcPath = frame.SrcPath + "/" + entry.Name;
                var dstPath = frame.DstPath + "/" + entry.Name;
                rc = PosixFs.Stat(frame.Src, entry.NameZ, follow: false, out var status);
                if (rc == LibC.ENOENT)
                {
                    continue;
                }

                if (rc != 0)
                {
                    throw GuestOperationException.FromErrno(rc, srcPath, "Cannot access");
                }

                if (!status.IsDirectory)
                {
                    CopyEntry(frame.Src, entry.NameZ, srcPath, status, frame.Dst, entry.NameZ, dstPath);
                    continue;
                }

                if (pending.Count >= MaxDepth)
                {
                    throw GuestOperationException.ForPath(GuestErrorCode.FileAccessError, srcPath, $"Cannot copy '{srcPath}': the tree is nested deeper than {MaxDepth} levels.");
                }

                rc = PosixIo.OpenDirectoryNoFollow(frame.Src, entry.NameZ, out var childSrc);
                if (rc != 0)
                {
                    throw GuestOperationException.FromErrno(rc, srcPath, "Cannot open directory");
                }

                rc = PosixIo.MkdirAt(frame.Dst, entry.NameZ, 0x1C0);
                var childDst = -1;
                if (rc == 0)
                {
                    rc = PosixIo.OpenDirectoryNoFollow(frame.Dst, entry.NameZ, out childDst);
                }

                if (rc != 0)
                {
                    PosixIo.Close(childSrc);
                    throw GuestOperationException.FromErrno(rc, dstPath, "Cannot create directory");
                }

                rc = PosixIo.ReadEntries(childSrc, out var children);
                pending.Push((childSrc, childDst, srcPath, dstPath, children, 0, status));
                if (rc != 0)
                {
                    throw GuestOperationException.FromErrno(rc, srcPath, "Cannot read directory");
                }
            }
        }
        catch
        {
            while (pending.Count > 0)
            {
                var f = pending.Pop();
                PosixIo.Close(f.Src);
                PosixIo.Close(f.Dst);
            }

            if (created)
            {
                try
                {
                    RemoveTree(destination);
                }
                catch (GuestOperationException)
                {
                    // best effort: the original error matters more
                }
            }

            throw;
        }
    }

    /// <summary>Copies one non-directory object (regular file or symlink) to a new name; refuses other types.</summary>
    public static void CopyEntry(int srcDirFd, byte[] srcNameZ, string srcPath, FileStatus status, int dstDirFd, byte[] dstNameZ, string dstPath)
    {
        if (status.IsSymlink)
        {
            var rc = PosixFs.ReadLink(srcDirFd, srcNameZ, out var target);
            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, srcPath, "Cannot read link");
            }

            rc = PosixIo.SymlinkAt(LibC.Utf8Z(target!), dstDirFd, dstNameZ);
            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, dstPath, "Cannot create link");
            }

            ApplyLinkAttributes(dstDirFd, dstNameZ, status);
            return;
        }

        if (!status.IsRegular)
        {
            throw GuestOperationException.ForPath(
                GuestErrorCode.FileAccessError, srcPath, $"Cannot move '{srcPath}' to another file system: it is a special file.");
        }

        CopyRegularFile(srcDirFd, srcNameZ, srcPath, dstDirFd, dstNameZ, dstPath);
    }

    private static void CopyRegularFile(int srcDirFd, byte[] srcNameZ, string srcPath, int dstDirFd, byte[] dstNameZ, string dstPath)
    {
        var rc = PosixIo.OpenAt(srcDirFd, srcNameZ, LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_NOCTTY, 0, out var src);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, srcPath, "Cannot open");
        }

        var dst = -1;
        try
        {
            rc = PosixIo.StatFd(src, out var status);
            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, srcPath, "Cannot access");
            }

            rc = PosixIo.OpenAt(dstDirFd, dstNameZ, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW | LibC.O_NOCTTY, 0x180, out dst);
            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, dstPath, "Cannot create");
            }

            var buffer = new byte[CopyBufferSize];
            while (true)
            {
                var n = PosixIo.Read(src, buffer);
                if (n < 0)
                {
                    throw GuestOperationException.FromErrno((int)-n, srcPath, "Cannot read");
                }

                if (n == 0)
                {
                    break;
                }

                rc = PosixIo.WriteAll(dst, buffer.AsSpan(0, (int)n));
                if (rc != 0)
                {
                    throw GuestOperationException.FromErrno(rc, dstPath, "Cannot write");
                }
            }

            ApplyAttributes(dst, status, dstPath);
        }
        catch
        {
            if (dst >= 0)
            {
                _ = PosixIo.UnlinkAt(dstDirFd, dstNameZ, directory: false);
            }

            throw;
        }
        finally
        {
            PosixIo.Close(src);
            PosixIo.Close(dst);
        }
    }

    /// <summary>Owner (root only), permissions and times of an open copy.</summary>
    private static unsafe void ApplyAttributes(int fd, FileStatus status, string path)
    {
        if (LibC.geteuid() == 0)
        {
            _ = LibC.fchown(fd, status.Uid, status.Gid); // best effort, like cp -p
        }

        if (LibC.fchmod(fd, status.Mode & 0xFFF) != 0)
        {
            throw GuestOperationException.FromErrno(PosixIo.LastError(), path, "Cannot set permissions of");
        }

        var times = stackalloc LibC.Timespec[2];
        times[0] = ToTimespec(status.AccessTime);
        times[1] = ToTimespec(status.ModificationTime);
        _ = LibC.futimens(fd, times);
    }

    private static unsafe void ApplyLinkAttributes(int dirfd, byte[] nameZ, FileStatus status)
    {
        fixed (byte* n = nameZ)
        {
            if (LibC.geteuid() == 0)
            {
                _ = LibC.fchownat(dirfd, n, status.Uid, status.Gid, LibC.AT_SYMLINK_NOFOLLOW);
            }

            var times = stackalloc LibC.Timespec[2];
            times[0] = ToTimespec(status.AccessTime);
            times[1] = ToTimespec(status.ModificationTime);
            _ = LibC.utimensat(dirfd, n, times, LibC.AT_SYMLINK_NOFOLLOW);
        }
    }

    public static LibC.Timespec ToTimespec(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var remainder);
        if (remainder < 0)
        {
            seconds--;
            remainder += TimeSpan.TicksPerSecond;
        }

        return new LibC.Timespec { Seconds = seconds, Nanoseconds = remainder * 100 };
    }
}
