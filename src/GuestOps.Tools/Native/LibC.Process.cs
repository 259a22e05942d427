using System.Runtime.InteropServices;

namespace GuestOps.Tools.Native;

/// <summary>Process entry points: posix_spawn, signals, waiting, /proc helpers.</summary>
internal static unsafe partial class LibC
{
    public const int ESRCH = 3;
    public const int ECHILD = 10;

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    public const int WNOHANG = 1;

    public const int _SC_CLK_TCK = 2;

    // posix_spawnattr flags (glibc).
    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;

    public const int PR_CAP_AMBIENT = 47;
    public const int PR_CAP_AMBIENT_CLEAR_ALL = 4;

    /// <summary>Generous upper bounds of glibc's opaque posix_spawn types (336 and 80 bytes on LP64) and sigset_t (128).</summary>
    public const int SpawnAttrSize = 1024;
    public const int SpawnFileActionsSize = 512;
    public const int SigSetSize = 256;

    [LibraryImport(Lib)]
    public static partial int getpid();

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getpgid(int pid);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setsid();

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup2(int oldfd, int newfd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial long sysconf(int name);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    /// <summary>Returns 0 or an error number (not errno).</summary>
    [LibraryImport(Lib)]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, byte* path, int oflag, uint mode);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newfd);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigmask);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigdefault);

    [LibraryImport(Lib)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Lib)]
    public static partial int sigfillset(void* set);

    /// <summary>
    /// glibc extensions that older guests lack (addchdir_np: 2.29, addclosefrom_np: 2.34): looked up at run time,
    /// called through function pointers (no marshalling stubs), null when absent.
    /// </summary>
    public static class Optional
    {
        private static readonly nint Handle = NativeLibrary.TryLoad(Lib, out var h) ? h : 0;

        public static readonly delegate* unmanaged<void*, byte*, int> SpawnAddChdir =
            (delegate* unmanaged<void*, byte*, int>)Export("posix_spawn_file_actions_addchdir_np");

        public static readonly delegate* unmanaged<void*, int, int> SpawnAddCloseFrom =
            (delegate* unmanaged<void*, int, int>)Export("posix_spawn_file_actions_addclosefrom_np");

        private static nint Export(string name) => Handle != 0 && NativeLibrary.TryGetExport(Handle, name, out var p) ? p : 0;
    }
}
