using System.Runtime.InteropServices;

namespace GuestOps.Tools.Native;

/// <summary>
/// Raw Linux system calls the worker needs where glibc's wrappers do the wrong thing (credentials) or may be
/// missing on older guests (statx). Numbers differ per architecture.
/// </summary>
internal static unsafe class Syscalls
{
    private static long SetResUidNr => Arch(117, 147);

    private static long SetResGidNr => Arch(119, 149);

    private static long SetGroupsNr => Arch(116, 159);

    private static long StatxNr => Arch(332, 291);

    private static long RenameAt2Nr => Arch(316, 276);

    private static long CapGetNr => Arch(125, 90);

    private static long CapSetNr => Arch(126, 91);

    private const uint LinuxCapabilityVersion3 = 0x20080522;

    /// <summary>setresuid(2) for the calling thread only (the kernel's credentials are per thread).</summary>
    public static int SetResUid(uint r, uint e, uint s) => Check(LibC.Syscall(SetResUidNr, r, e, s, 0, 0));

    /// <summary>setresgid(2) for the calling thread only.</summary>
    public static int SetResGid(uint r, uint e, uint s) => Check(LibC.Syscall(SetResGidNr, r, e, s, 0, 0));

    /// <summary>setgroups(2) for the calling thread only.</summary>
    public static int SetGroups(ReadOnlySpan<uint> groups)
    {
        fixed (uint* p = groups)
        {
            return Check(LibC.Syscall(SetGroupsNr, groups.Length, (long)p, 0, 0, 0));
        }
    }

    /// <summary>statx(2); returns 0 or an errno.</summary>
    public static int Statx(int dirfd, byte* path, int flags, uint mask, StatxBuffer* buffer) =>
        Check(LibC.Syscall(StatxNr, dirfd, (long)path, flags, mask, (long)buffer));

    /// <summary>renameat2(2) (Linux 3.15+; glibc's wrapper is newer than some guests); returns 0 or an errno.</summary>
    public static int RenameAt2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags) =>
        Check(LibC.Syscall(RenameAt2Nr, olddirfd, (long)oldpath, newdirfd, (long)newpath, flags));

    /// <summary>
    /// Empties the calling thread's inheritable and ambient capability sets (only ever lowers them), so a program it
    /// executes as an unprivileged user cannot regain capabilities the worker was given (bubblewrap's --cap-add puts
    /// them in the ambient set, which survives execve). Returns 0 or an errno.
    /// </summary>
    public static int DropInheritableCapabilities()
    {
        var rc = LibC.prctl(LibC.PR_CAP_AMBIENT, LibC.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();
        if (rc != 0 && rc != LibC.EINVAL) // EINVAL: kernel without ambient capabilities (< 4.3)
        {
            return rc;
        }

        var header = stackalloc uint[2];
        var data = stackalloc uint[6]; // two { effective, permitted, inheritable } words
        header[0] = LinuxCapabilityVersion3;
        header[1] = 0; // the calling thread
        rc = Check(LibC.Syscall(CapGetNr, (long)header, (long)data, 0, 0, 0));
        if (rc != 0)
        {
            return rc;
        }

        if (data[2] == 0 && data[5] == 0)
        {
            return 0;
        }

        data[2] = 0;
        data[5] = 0;
        return Check(LibC.Syscall(CapSetNr, (long)header, (long)data, 0, 0, 0));
    }

    private static int Check(long rc) => rc == -1 ? Marshal.GetLastPInvokeError() : 0;

    private static long Arch(long x64, long arm64) => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => x64,
        Architecture.Arm64 => arm64,
        var other => throw new PlatformNotSupportedException($"No system call table for {other}."),
    };
}

/// <summary>struct statx (architecture independent, 256 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct StatxBuffer
{
    public const uint STATX_BASIC_STATS = 0x7ff;

    [FieldOffset(0)] public uint Mask;
    [FieldOffset(20)] public uint Uid;
    [FieldOffset(24)] public uint Gid;
    [FieldOffset(28)] public ushort Mode;
    [FieldOffset(40)] public ulong Size;
    [FieldOffset(64)] public long AtimeSec;
    [FieldOffset(72)] public uint AtimeNsec;
    [FieldOffset(112)] public long MtimeSec;
    [FieldOffset(120)] public uint MtimeNsec;
}
