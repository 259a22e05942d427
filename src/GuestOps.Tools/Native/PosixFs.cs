using System.Runtime.InteropServices;

namespace GuestOps.Tools.Native;

/// <summary>The attributes of one file system object (from statx).</summary>
internal readonly record struct FileStatus(uint Mode, uint Uid, uint Gid, long Size, DateTimeOffset AccessTime, DateTimeOffset ModificationTime)
{
    public const uint S_IFMT = 0xF000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFLNK = 0xA000;
    public const uint S_IFREG = 0x8000;

    public bool IsDirectory => (Mode & S_IFMT) == S_IFDIR;

    public bool IsSymlink => (Mode & S_IFMT) == S_IFLNK;

    public bool IsRegular => (Mode & S_IFMT) == S_IFREG;
}

/// <summary>
/// File system calls made with the calling thread's credentials, so permission checks are the impersonated user's.
/// Every method returns an errno (0 = success) instead of throwing, so the caller decides what each error means.
/// </summary>
internal static unsafe class PosixFs
{
    /// <summary>The physical path of <paramref name="path"/> (symbolic links, <c>.</c> and <c>..</c> resolved), as the
    /// calling thread's user can resolve it; null when it cannot.</summary>
    public static string? RealPath(string path)
    {
        fixed (byte* p = LibC.Utf8Z(path))
        {
            var resolved = LibC.realpath(p, null);
            if (resolved is null)
            {
                return null;
            }

            try
            {
                return LibC.FromUtf8Z(resolved);
            }
            finally
            {
                LibC.free(resolved);
            }
        }
    }

    /// <summary>stat (<paramref name="follow"/>) or lstat of <paramref name="path"/>, relative to <paramref name="dirfd"/>.</summary>
    public static int Stat(int dirfd, byte[] pathZ, bool follow, out FileStatus status, int extraFlags = 0)
    {
        StatxBuffer buffer;
        var flags = LibC.AT_NO_AUTOMOUNT | (follow ? 0 : LibC.AT_SYMLINK_NOFOLLOW) | extraFlags;
        int rc;
        fixed (byte* p = pathZ)
        {
            rc = Syscalls.Statx(dirfd, p, flags, StatxBuffer.STATX_BASIC_STATS, &buffer);
        }

        if (rc != 0)
        {
            status = default;
            return rc;
        }

        status = new FileStatus(
            buffer.Mode,
            buffer.Uid,
            buffer.Gid,
            (long)buffer.Size,
            ToTime(buffer.AtimeSec, buffer.AtimeNsec),
            ToTime(buffer.MtimeSec, buffer.MtimeNsec));
        return 0;
    }

    /// <summary>readlinkat; the link text decoded as UTF-8.</summary>
    public static int ReadLink(int dirfd, byte[] pathZ, out string? target)
    {
        var size = 256;
        while (true)
        {
            var buf = new byte[size];
            nint n;
            fixed (byte* p = pathZ)
            fixed (byte* b = buf)
            {
                n = LibC.readlinkat(dirfd, p, b, (nuint)size);
            }

            if (n < 0)
            {
                target = null;
                return Marshal.GetLastPInvokeError();
            }

            if (n < size)
            {
                target = System.Text.Encoding.UTF8.GetString(buf, 0, (int)n);
                return 0;
            }

            if (size >= 1 << 20)
            {
                target = null;
                return LibC.ENAMETOOLONG;
            }

            size *= 4;
        }
    }

    /// <summary>Opens a directory for reading; dispose the handle.</summary>
    public static int OpenDirectory(byte[] pathZ, out DirectoryHandle? handle)
    {
        nint dir;
        fixed (byte* p = pathZ)
        {
            dir = LibC.opendir(p);
        }

        if (dir == 0)
        {
            handle = null;
            return Marshal.GetLastPInvokeError();
        }

        handle = new DirectoryHandle(dir);
        return 0;
    }

    private static DateTimeOffset ToTime(long seconds, uint nanoseconds)
    {
        // Clamp to DateTimeOffset's range (file systems can hold absurd times).
        const long min = -62135596800L;
        const long max = 253402300799L;
        seconds = Math.Clamp(seconds, min, max);
        var t = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return seconds == max ? t : t.AddTicks(nanoseconds / 100);
    }
}

/// <summary>An open DIR*; enumerates entry names in the file system's order, skipping <c>.</c> and <c>..</c>.</summary>
internal sealed unsafe class DirectoryHandle : IDisposable
{
    private nint _dir;

    public DirectoryHandle(nint dir)
    {
        _dir = dir;
        Fd = LibC.dirfd(dir);
    }

    /// <summary>The directory's descriptor, for *at() calls relative to it.</summary>
    public int Fd { get; }

    /// <summary>Reads the next name; returns false at the end. <paramref name="errno"/> is non-zero on a read error.</summary>
    public bool TryReadNext(out byte[]? nameZ, out string? name, out int errno)
    {
        while (true)
        {
            var entry = LibC.readdir(_dir);
            if (entry == 0)
            {
                errno = Marshal.GetLastPInvokeError();
                nameZ = null;
                name = null;
                return false;
            }

            if (PosixIo.EntryName(entry) is not { } named)
            {
                continue;
            }

            (nameZ, name) = named;
            errno = 0;
            return true;
        }
    }

    public void Dispose()
    {
        var d = _dir;
        _dir = 0;
        if (d != 0)
        {
            _ = LibC.closedir(d);
        }
    }
}
