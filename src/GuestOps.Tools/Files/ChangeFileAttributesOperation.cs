using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// ChangeFileAttributesInGuest (a symlink path changes its target).
/// Runs as the user (see <see cref="FileOperations"/>).
/// </summary>
internal static class ChangeFileAttributesOperation
{
    /// <summary>
    /// POSIX attributes, each only when set (see <see cref="FileAttributeChanges"/>). A symlink path changes its
    /// target. Windows attributes on this (Linux) guest are NotSupported.
    /// </summary>
    public static Func<EmptyResult> Prepare(ChangeFileAttributesRequest request)
    {
        var path = GuestPath.Parse(request.Path, "file path");
        var attributes = request.Attributes ?? new GuestFileAttributeChanges();
        FileAttributeChanges.Validate(attributes, request.Path);
        return () =>
        {
            var st = PosixFs.Stat(LibC.AT_FDCWD, path.Z, follow: true, out _);
            if (st != 0)
            {
                throw GuestOperationException.FromErrno(st, path.Original, "Cannot access");
            }

            FileAttributeChanges.Apply(path, attributes);
            return EmptyResult.Instance;
        };
    }
}
