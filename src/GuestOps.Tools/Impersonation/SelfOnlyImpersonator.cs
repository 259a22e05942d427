using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Impersonation;

/// <summary>
/// For a worker that does not run as root: it cannot become anyone else, so it serves only its own account and
/// refuses every other user with PermissionDenied (never silently acting as itself).
/// </summary>
public sealed class SelfOnlyImpersonator(uint workerUid) : IImpersonator
{
    public bool CanImpersonateOthers => false;

    public Task<T> RunAsAsync<T>(GuestUser user, Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (user.Uid != workerUid)
        {
            return Task.FromException<T>(new GuestOperationException(
                GuestErrorCode.PermissionDenied,
                $"The guest agent runs as uid {workerUid} and cannot act as user '{user.Name}'; it needs root for that."));
        }

        return Task.Run(work, cancellationToken);
    }
}
