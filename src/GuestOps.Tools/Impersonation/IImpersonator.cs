using GuestOps.Tools.Identity;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Impersonation;

/// <summary>Runs synchronous work with a guest user's identity (uid, gid, supplementary groups).</summary>
public interface IImpersonator
{
    /// <summary>True when the worker can act as any user (it runs as root).</summary>
    bool CanImpersonateOthers { get; }

    /// <summary>
    /// Runs <paramref name="work"/> as <paramref name="user"/>. The work must be synchronous: anything it awaited
    /// would continue on another thread, without the user's identity.
    /// </summary>
    /// <exception cref="GuestOperationException">PermissionDenied when the worker cannot act as that user.</exception>
    Task<T> RunAsAsync<T>(GuestUser user, Func<T> work, CancellationToken cancellationToken);
}
