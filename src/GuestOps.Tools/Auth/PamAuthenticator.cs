using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using GuestOps.Tools.Native;
using GuestOps.Tools.Threading;

namespace GuestOps.Tools.Auth;

/// <summary>
/// Authenticates through the guest's PAM stack (service file /etc/pam.d/&lt;service&gt;): pam_authenticate then
/// pam_acct_mgmt, so whatever the guest uses (shadow, LDAP, SSSD) applies. PAM calls block, so they run on threads
/// of their own, kept across checks (<see cref="KeptThreads"/>), at most <paramref name="maxConcurrent"/> at a time;
/// never the thread pool's: a few blocked PAM calls would otherwise hold every pool thread of a busy guest (the pool
/// starts with one per core), the channel's read loop could not answer the host's heartbeat in time, and the host would
/// take a busy worker for a dead one.
/// </summary>
public sealed class PamAuthenticator(string service, int maxConcurrent = 4) : IGuestAuthenticator, IDisposable
{
    private readonly KeptThreads _threads = new("guestops-pam", maxConcurrent);
    private int _modulesKept;

    public string Service { get; } = service;

    public async ValueTask<(AuthenticationResult Result, string Detail)> AuthenticateAsync(string userName, string password, CancellationToken cancellationToken) =>
        await _threads.RunAsync(() => Authenticate(userName, password), cancellationToken).ConfigureAwait(false);

    private (AuthenticationResult, string) Authenticate(string userName, string password)
    {
        var userBytes = Encoding.UTF8.GetBytes(userName);
        var passwordLength = Encoding.UTF8.GetByteCount(password);
        var passwordBytes = ArrayPool<byte>.Shared.Rent(passwordLength);
        try
        {
            Encoding.UTF8.GetBytes(password, passwordBytes);
            // The first check keeps the stack's modules loaded for every later one of this process.
            var keepModules = Interlocked.Exchange(ref _modulesKept, 1) == 0;
            var rc = Pam.Authenticate(Service, userBytes, passwordBytes.AsSpan(0, passwordLength), keepModules, out var stage, out var message);
            return rc switch
            {
                Pam.PAM_SUCCESS => (AuthenticationResult.Success, ""),
                Pam.PAM_AUTH_ERR or Pam.PAM_USER_UNKNOWN or Pam.PAM_MAXTRIES or Pam.PAM_ACCT_EXPIRED
                    or Pam.PAM_NEW_AUTHTOK_REQD or Pam.PAM_PERM_DENIED or Pam.PAM_CRED_INSUFFICIENT
                    or Pam.PAM_AUTHINFO_UNAVAIL => (AuthenticationResult.Rejected, $"{stage}: {message}"),
                _ => (AuthenticationResult.SystemError, $"{stage}: {message} ({rc})"),
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passwordBytes.AsSpan(0, passwordLength));
            ArrayPool<byte>.Shared.Return(passwordBytes);
        }
    }

    public void Dispose() => _threads.Dispose();
}
