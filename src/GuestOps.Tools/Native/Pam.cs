using System.Runtime.InteropServices;

namespace GuestOps.Tools.Native;

/// <summary>
/// libpam (Linux-PAM) through P/Invoke, NativeAOT-safe: the conversation and fail-delay callbacks are
/// <see cref="UnmanagedCallersOnlyAttribute"/> function pointers (no delegate marshalling), the password reaches the
/// conversation through the appdata pointer (a <see cref="GCHandle"/>), and responses are allocated with malloc
/// (<see cref="NativeMemory"/>) because PAM frees them.
/// </summary>
internal static unsafe partial class Pam
{
    private const string Lib = "libpam.so.0";

    public const int PAM_SUCCESS = 0;
    public const int PAM_OPEN_ERR = 1;
    public const int PAM_SYSTEM_ERR = 4;
    public const int PAM_BUF_ERR = 5;
    public const int PAM_PERM_DENIED = 6;
    public const int PAM_AUTH_ERR = 7;
    public const int PAM_CRED_INSUFFICIENT = 8;
    public const int PAM_AUTHINFO_UNAVAIL = 9;
    public const int PAM_USER_UNKNOWN = 10;
    public const int PAM_MAXTRIES = 11;
    public const int PAM_NEW_AUTHTOK_REQD = 12;
    public const int PAM_ACCT_EXPIRED = 13;
    public const int PAM_CONV_ERR = 19;
    public const int PAM_ABORT = 26;

    private const int PAM_PROMPT_ECHO_OFF = 1;
    private const int PAM_PROMPT_ECHO_ON = 2;
    private const int PAM_ERROR_MSG = 3;
    private const int PAM_TEXT_INFO = 4;
    private const int PAM_SILENT = 0x8000;
    private const int PAM_DISALLOW_NULL_AUTHTOK = 0x0001;
    private const int PAM_RUSER = 8;
    private const int PAM_FAIL_DELAY = 10;
    private const int MaxMessages = 32;

    /// <summary>Authenticates and checks the account; returns the first failing PAM code or PAM_SUCCESS.</summary>
    /// <param name="service">PAM service name (file in /etc/pam.d).</param>
    /// <param name="user">UTF-8 user name (no NUL).</param>
    /// <param name="password">UTF-8 password (no NUL); the caller wipes it afterwards.</param>
    /// <param name="stage">Which call failed, for logs.</param>
    /// <param name="message">PAM's text for the failure.</param>
    /// <param name="keepModulesLoaded">Pin the modules this pam_start loaded (see <see cref="KeepLoadedModules"/>).</param>
    public static int Authenticate(string service, ReadOnlySpan<byte> user, ReadOnlySpan<byte> password, bool keepModulesLoaded, out string stage, out string message)
    {
        var state = new ConversationState(user.ToArray(), password.ToArray());
        var handle = GCHandle.Alloc(state);
        nint pamh = 0;
        var rc = PAM_SYSTEM_ERR;
        stage = "pam_start";
        try
        {
            var conv = new PamConv { Conv = &Conversation, AppData = (void*)GCHandle.ToIntPtr(handle) };
            var serviceZ = LibC.Utf8Z(service);
            var userZ = new byte[user.Length + 1];
            user.CopyTo(userZ);
            fixed (byte* s = serviceZ)
            fixed (byte* u = userZ)
            {
                rc = pam_start(s, u, &conv, &pamh);
            }

            if (rc != PAM_SUCCESS)
            {
                message = $"pam_start failed ({rc})";
                return rc;
            }

            if (keepModulesLoaded)
            {
                KeepLoadedModules();
            }

            // Replace PAM's blocking failure delay (pam_unix sleeps ~2 s on the calling thread) with nothing:
            // the worker throttles failures itself, asynchronously, per user.
            delegate* unmanaged<int, uint, void*, void> noDelay = &NoFailDelay;
            _ = pam_set_item(pamh, PAM_FAIL_DELAY, noDelay);
            fixed (byte* ruser = "guestops\0"u8)
            {
                _ = pam_set_item(pamh, PAM_RUSER, ruser);
            }

            stage = "pam_authenticate";
            rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
            if (rc == PAM_SUCCESS)
            {
                stage = "pam_acct_mgmt";
                rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
            }

            message = rc == PAM_SUCCESS ? "" : LibC.FromUtf8Z(pam_strerror(pamh, rc)) ?? $"PAM error {rc}";
            return rc;
        }
        finally
        {
            if (pamh != 0)
            {
                _ = pam_end(pamh, rc);
            }

            handle.Free();
            state.Wipe();
        }
    }

    /// <summary>
    /// pam_start loads every module of the service's stacks (and of <c>other</c> for the types the service leaves out)
    /// and pam_end unloads them again, which costs more than the password check itself (pam_unix with its libraries,
    /// pam_systemd with libsystemd: about 10 ms of the 15 ms a check takes on Debian 12). Called while a handle holds
    /// them, this marks each loaded module never to be unloaded (<c>RTLD_NOLOAD | RTLD_NODELETE</c> loads nothing new),
    /// so later checks of a long-running process reuse them, as a daemon holding one PAM handle would.
    /// </summary>
    private static void KeepLoadedModules()
    {
        IEnumerable<string> maps;
        try
        {
            maps = File.ReadLines("/proc/self/maps");
        }
        catch (IOException)
        {
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in maps)
        {
            var path = line.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? line[slash..] : "";
            if (path.Contains("/security/pam_", StringComparison.Ordinal) && path.EndsWith(".so", StringComparison.Ordinal) && seen.Add(path))
            {
                fixed (byte* name = LibC.Utf8Z(path))
                {
                    _ = dlopen(name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
                }
            }
        }
    }

    private const int RTLD_NOW = 0x2;
    private const int RTLD_NOLOAD = 0x4;
    private const int RTLD_NODELETE = 0x1000;

    [LibraryImport("libc.so.6")]
    private static partial nint dlopen(byte* file, int mode);

    [UnmanagedCallersOnly]
    private static void NoFailDelay(int retval, uint usecDelay, void* appdata)
    {
    }

    [UnmanagedCallersOnly]
    private static int Conversation(int count, PamMessage** messages, PamResponse** responses, void* appdata)
    {
        if (count <= 0 || count > MaxMessages || messages is null || responses is null || appdata is null)
        {
            return PAM_CONV_ERR;
        }

        PamResponse* replies = null;
        try
        {
            if (GCHandle.FromIntPtr((nint)appdata).Target is not ConversationState state)
            {
                return PAM_CONV_ERR;
            }

            replies = (PamResponse*)NativeMemory.AllocZeroed((nuint)count, (nuint)sizeof(PamResponse));
            for (var i = 0; i < count; i++)
            {
                // Linux-PAM passes an array of pointers to messages.
                var style = messages[i]->Style;
                switch (style)
                {
                    case PAM_PROMPT_ECHO_OFF:
                        replies[i].Resp = Duplicate(state.Password);
                        break;
                    case PAM_PROMPT_ECHO_ON:
                        replies[i].Resp = Duplicate(state.User);
                        break;
                    case PAM_ERROR_MSG:
                    case PAM_TEXT_INFO:
                        break;
                    default:
                        FreeReplies(replies, count);
                        return PAM_CONV_ERR;
                }
            }

            *responses = replies;
            return PAM_SUCCESS;
        }
        catch
        {
            if (replies is not null)
            {
                FreeReplies(replies, count);
            }

            return PAM_CONV_ERR;
        }
    }

    /// <summary>malloc'd NUL-terminated copy; PAM overwrites and frees it.</summary>
    private static byte* Duplicate(byte[] value)
    {
        var p = (byte*)NativeMemory.Alloc((nuint)value.Length + 1);
        value.AsSpan().CopyTo(new Span<byte>(p, value.Length));
        p[value.Length] = 0;
        return p;
    }

    private static void FreeReplies(PamResponse* replies, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (replies[i].Resp is not null)
            {
                var len = 0;
                while (replies[i].Resp[len] != 0)
                {
                    len++;
                }

                new Span<byte>(replies[i].Resp, len).Clear();
                NativeMemory.Free(replies[i].Resp);
            }
        }

        NativeMemory.Free(replies);
    }

    [LibraryImport(Lib)]
    private static partial int pam_start(byte* service, byte* user, PamConv* conv, nint* pamh);

    [LibraryImport(Lib)]
    private static partial int pam_authenticate(nint pamh, int flags);

    [LibraryImport(Lib)]
    private static partial int pam_acct_mgmt(nint pamh, int flags);

    [LibraryImport(Lib)]
    private static partial int pam_end(nint pamh, int status);

    [LibraryImport(Lib)]
    private static partial int pam_set_item(nint pamh, int itemType, void* item);

    [LibraryImport(Lib)]
    private static partial byte* pam_strerror(nint pamh, int error);

    [StructLayout(LayoutKind.Sequential)]
    private struct PamMessage
    {
        public int Style;
        public byte* Msg;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PamResponse
    {
        public byte* Resp;
        public int RetCode;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PamConv
    {
        public delegate* unmanaged<int, PamMessage**, PamResponse**, void*, int> Conv;
        public void* AppData;
    }

    private sealed class ConversationState(byte[] user, byte[] password)
    {
        public byte[] User { get; } = user;

        public byte[] Password { get; } = password;

        public void Wipe() => Array.Clear(Password);
    }
}
