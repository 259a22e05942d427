using System.Runtime.InteropServices;

namespace GuestOps.Tools.Native;

/// <summary>File system entry points for the file operations (all *at() forms, so walks stay relative to open
/// directory descriptors and never re-resolve a path an attacker could swap).</summary>
internal static unsafe partial class LibC
{
    public const int EBUSY = 16;
    public const int EXDEV = 18;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ETXTBSY = 26;
    public const int EOPNOTSUPP = 95;
    public const int EDQUOT = 122;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_CLOEXEC = 0x80000;

    /// <summary>O_DIRECTORY (differs between x86_64 and aarch64).</summary>
    public static int O_DIRECTORY => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;

    /// <summary>O_NOFOLLOW (differs between x86_64 and aarch64).</summary>
    public static int O_NOFOLLOW => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    public const int AT_REMOVEDIR = 0x200;
    public const int AT_SYMLINK_FOLLOW = 0x400;

    /// <summary>O_TMPFILE: an unnamed file in a directory, freed by the kernel unless linked (differs by architecture
    /// through O_DIRECTORY).</summary>
    public static int O_TMPFILE => 0x400000 | O_DIRECTORY;
    public const int AT_EMPTY_PATH = 0x1000;

    public const int X_OK = 1;
    public const int W_OK = 2;

    /// <summary>timespec.tv_nsec value that leaves that time unchanged (utimensat).</summary>
    public const long UTIME_OMIT = (1L << 30) - 2;

    /// <summary>renameat2 flag: fail with EEXIST instead of replacing the destination.</summary>
    public const uint RENAME_NOREPLACE = 1;

    // d_type values of struct dirent.
    public const byte DT_UNKNOWN = 0;
    public const byte DT_DIR = 4;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int openat(int dirfd, byte* path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>realpath(3) with a null buffer: a malloc'ed result the caller frees.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial byte* realpath(byte* path, byte* resolved);

    [LibraryImport(Lib)]
    public static partial void free(void* pointer);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fallocate(int fd, int mode, long offset, long len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int statvfs(byte* path, StatVfs* buf);

    /// <summary>struct statvfs of 64-bit glibc (x86_64, aarch64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct StatVfs
    {
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong BlocksFree;
        public ulong BlocksAvailable;
        public ulong Files;
        public ulong FilesFree;
        public ulong FilesAvailable;
        public ulong FileSystemId;
        public ulong Flags;
        public ulong NameMax;
        public fixed int Spare[6];
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int mkdirat(int dirfd, byte* path, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int unlinkat(int dirfd, byte* path, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int renameat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int symlinkat(byte* target, int newdirfd, byte* linkpath);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchmodat(int dirfd, byte* path, uint mode, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchownat(int dirfd, byte* path, uint owner, uint group, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchown(int fd, uint owner, uint group);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int utimensat(int dirfd, byte* path, Timespec* times, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int futimens(int fd, Timespec* times);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int faccessat(int dirfd, byte* path, int mode, int flags);

    /// <summary>Takes ownership of <paramref name="fd"/> (closedir closes it).</summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint fdopendir(int fd);

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
