using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace GuestOps.Host.Providers;

/// <summary>SHA-512 crypt(3) hashes for the simulated guests' /etc/shadow, through libcrypt.</summary>
internal static partial class Crypt
{
    private const string SaltAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static readonly Lock CryptLock = new(); // crypt(3) returns a static buffer

    public static string Sha512(string password)
    {
        var salt = "$6$" + new string(RandomNumberGenerator.GetItems<char>(SaltAlphabet, 16));
        lock (CryptLock)
        {
            var result = crypt(password, salt);
            return Marshal.PtrToStringAnsi(result) is { } hash && hash.StartsWith("$6$", StringComparison.Ordinal)
                ? hash
                : throw new InvalidOperationException("libcrypt could not create a SHA-512 hash.");
        }
    }

    [LibraryImport("libcrypt.so.1", EntryPoint = "crypt", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr crypt(string key, string salt);
}
