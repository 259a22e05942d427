using System.Runtime.InteropServices;

namespace GuestOps.Tools.Native;

internal static partial class LibC
{
    /// <summary>
    /// setenv(3): changes the C library's environment, which native libraries (GSSAPI mechanisms reading
    /// <c>NTLM_USER_FILE</c>, <c>KRB5_KTNAME</c>) consult. .NET's Environment.SetEnvironmentVariable does not reach it.
    /// Not thread-safe against concurrent getenv: call it at start-up, before any thread uses GSSAPI.
    /// </summary>
    [LibraryImport(Lib, EntryPoint = "setenv", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetEnv(string name, string value, int overwrite);
}
