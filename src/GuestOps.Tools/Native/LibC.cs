using System.Runtime.InteropServices;
using System.Text;

namespace GuestOps.Tools.Native;

/// <summary>
/// glibc entry points used by the worker (Linux x64/arm64). All through source-generated <c>LibraryImport</c>
/// stubs: no runtime marshalling code generation, so NativeAOT-clean.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Lib = "libc.so.6";

    // errno values (asm-generic; identical on x86_64 and aarch64).
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ERANGE = 34;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ELOOP = 40;

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_NO_AUTOMOUNT = 0x800;

    /// <summary>syscall(2) with up to five integer arguments (variadic in C; integer args pass in the same registers).</summary>
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long a1, long a2, long a3, long a4, long a5);

    [LibraryImport(Lib)]
    public static partial uint geteuid();

    [LibraryImport(Lib)]
    public static partial uint getegid();

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getresuid(out uint ruid, out uint euid, out uint suid);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getresgid(out uint rgid, out uint egid, out uint sgid);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getgroups(int size, uint* list);

    /// <summary>Returns 0 or an error number (not errno); <paramref name="result"/> is null when the user does not exist.</summary>
    [LibraryImport(Lib)]
    public static partial int getpwnam_r(byte* name, Passwd* pwd, byte* buf, nuint buflen, Passwd** result);

    [LibraryImport(Lib)]
    public static partial int getpwuid_r(uint uid, Passwd* pwd, byte* buf, nuint buflen, Passwd** result);

    [LibraryImport(Lib)]
    public static partial int getgrouplist(byte* user, uint group, uint* groups, int* ngroups);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint opendir(byte* name);

    /// <summary>Returns a <c>struct dirent*</c>, or null at the end (errno 0) or on error (errno set).</summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint readdir(nint dir);

    [LibraryImport(Lib)]
    public static partial int closedir(nint dir);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dirfd(nint dir);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint readlinkat(int dirfd, byte* path, byte* buf, nuint size);

    /// <summary>struct passwd on LP64 glibc.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Passwd
    {
        public byte* Name;
        public byte* Password;
        public uint Uid;
        public uint Gid;
        public byte* Gecos;
        public byte* Dir;
        public byte* Shell;
    }

    /// <summary>NUL-terminated UTF-8 copy of <paramref name="s"/> (callers reject embedded NULs first).</summary>
    public static byte[] Utf8Z(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    public static string? FromUtf8Z(byte* p) => p is null ? null : Marshal.PtrToStringUTF8((nint)p);
}
