using System.Runtime.InteropServices;
using System.Text;

namespace GuestOps.Tools.Native;

/// <summary>One directory entry: its NUL-terminated name, the decoded name and the d_type hint.</summary>
internal readonly record struct DirectoryEntry(byte[] NameZ, string Name, byte Type);

/// <summary>
/// Thin errno-returning wrappers (0 = success) over the *at() calls the file and process operations use. Like
/// <see cref="PosixFs"/>, every call is made with the calling thread's credentials.
/// </summary>
internal static unsafe class PosixIo
{
    public static int LastError() => Marshal.GetLastPInvokeError();

    public static int OpenAt(int dirfd, byte[] pathZ, int flags, uint mode, out int fd)
    {
        fixed (byte* p = pathZ)
        {
            while (true)
            {
                fd = LibC.openat(dirfd, p, flags | LibC.O_CLOEXEC, mode);
                if (fd >= 0)
                {
                    return 0;
                }

                var e = LastError();
                if (e != LibC.EINTR)
                {
                    return e;
                }
            }
        }
    }

    /// <summary>Opens a directory without following a symlink in the last component.</summary>
    public static int OpenDirectoryNoFollow(int dirfd, byte[] pathZ, out int fd) =>
        OpenAt(dirfd, pathZ, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_NOCTTY, 0, out fd);

    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            _ = LibC.close(fd);
        }
    }

    public static int MkdirAt(int dirfd, byte[] pathZ, uint mode)
    {
        fixed (byte* p = pathZ)
        {
            return LibC.mkdirat(dirfd, p, mode) == 0 ? 0 : LastError();
        }
    }

    public static int UnlinkAt(int dirfd, byte[] pathZ, bool directory)
    {
        fixed (byte* p = pathZ)
        {
            return LibC.unlinkat(dirfd, p, directory ? LibC.AT_REMOVEDIR : 0) == 0 ? 0 : LastError();
        }
    }

    /// <summary>rename(2), or with <paramref name="noReplace"/> renameat2(RENAME_NOREPLACE).</summary>
    public static int Rename(int olddirfd, byte[] oldZ, int newdirfd, byte[] newZ, bool noReplace)
    {
        fixed (byte* o = oldZ)
        fixed (byte* n = newZ)
        {
            if (noReplace)
            {
                return Syscalls.RenameAt2(olddirfd, o, newdirfd, n, LibC.RENAME_NOREPLACE);
            }

            return LibC.renameat(olddirfd, o, newdirfd, n) == 0 ? 0 : LastError();
        }
    }

    public static int SymlinkAt(byte[] targetZ, int dirfd, byte[] linkZ)
    {
        fixed (byte* t = targetZ)
        fixed (byte* l = linkZ)
        {
            return LibC.symlinkat(t, dirfd, l) == 0 ? 0 : LastError();
        }
    }

    /// <summary>fstat of an open descriptor (statx with AT_EMPTY_PATH).</summary>
    public static int StatFd(int fd, out FileStatus status) => PosixFs.Stat(fd, EmptyZ, follow: false, out status, LibC.AT_EMPTY_PATH);

    public static int AccessAt(byte[] pathZ, int mode)
    {
        fixed (byte* p = pathZ)
        {
            return LibC.faccessat(LibC.AT_FDCWD, p, mode, 0) == 0 ? 0 : LastError();
        }
    }

    /// <summary>The name of a <c>readdir</c> entry, NUL-terminated and as text; null for <c>.</c> and <c>..</c>.</summary>
    public static (byte[] NameZ, string Name)? EntryName(nint entry)
    {
        var p = (byte*)entry + DirentNameOffset;
        var len = 0;
        while (p[len] != 0)
        {
            len++;
        }

        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
        {
            return null;
        }

        var nameZ = new byte[len + 1];
        new ReadOnlySpan<byte>(p, len).CopyTo(nameZ);
        return (nameZ, Encoding.UTF8.GetString(nameZ, 0, len));
    }

    /// <summary>All entries of the open directory <paramref name="dirfd"/> except <c>.</c> and <c>..</c>
    /// (through a second descriptor, so <paramref name="dirfd"/> stays usable and its offset untouched).</summary>
    public static int ReadEntries(int dirfd, out List<DirectoryEntry> entries)
    {
        entries = [];
        var rc = OpenAt(dirfd, DotZ, LibC.O_RDONLY | LibC.O_DIRECTORY, 0, out var fd);
        if (rc != 0)
        {
            return rc;
        }

        var dir = LibC.fdopendir(fd);
        if (dir == 0)
        {
            rc = LastError();
            Close(fd);
            return rc;
        }

        try
        {
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                var entry = LibC.readdir(dir);
                if (entry == 0)
                {
                    return LastError();
                }

                if (EntryName(entry) is { } named)
                {
                    entries.Add(new DirectoryEntry(named.NameZ, named.Name, ((byte*)entry)[DirentTypeOffset]));
                }
            }
        }
        finally
        {
            _ = LibC.closedir(dir);
        }
    }

    /// <summary>Reads a small file completely (e.g. under /proc, whose files report size 0).</summary>
    public static int ReadAll(byte[] pathZ, int maxBytes, out byte[] content)
    {
        content = [];
        var rc = OpenAt(LibC.AT_FDCWD, pathZ, LibC.O_RDONLY | LibC.O_NOCTTY, 0, out var fd);
        if (rc != 0)
        {
            return rc;
        }

        try
        {
            var buffer = new byte[Math.Min(4096, maxBytes)];
            var total = 0;
            while (total < maxBytes)
            {
                if (total == buffer.Length)
                {
                    Array.Resize(ref buffer, Math.Min(buffer.Length * 2, maxBytes));
                }

                nint n;
                fixed (byte* b = buffer)
                {
                    n = LibC.read(fd, b + total, (nuint)(buffer.Length - total));
                }

                if (n < 0)
                {
                    var e = LastError();
                    if (e == LibC.EINTR)
                    {
                        continue;
                    }

                    return e;
                }

                if (n == 0)
                {
                    break;
                }

                total += (int)n;
            }

            content = buffer.AsSpan(0, total).ToArray();
            return 0;
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>Writes all of <paramref name="data"/>.</summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* b = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var n = LibC.write(fd, b + done, (nuint)(data.Length - done));
                if (n < 0)
                {
                    var e = LastError();
                    if (e == LibC.EINTR)
                    {
                        continue;
                    }

                    return e;
                }

                done += (int)n;
            }
        }

        return 0;
    }

    /// <summary>read(2) retrying on EINTR; returns the byte count or -errno.</summary>
    public static long Read(int fd, Span<byte> buffer)
    {
        fixed (byte* b = buffer)
        {
            while (true)
            {
                var n = LibC.read(fd, b, (nuint)buffer.Length);
                if (n >= 0)
                {
                    return n;
                }

                var e = LastError();
                if (e != LibC.EINTR)
                {
                    return -e;
                }
            }
        }
    }

    public static readonly byte[] EmptyZ = [0];

    public static readonly byte[] DotZ = [(byte)'.', 0];

    private const int DirentTypeOffset = 18; // d_ino(8) d_off(8) d_reclen(2) d_type(1) on LP64 glibc
    private const int DirentNameOffset = 19;
}
