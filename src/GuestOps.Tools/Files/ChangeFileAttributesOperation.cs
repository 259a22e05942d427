using System.Security.Cryptography;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Native;
using static GuestOps.Tools.Files.FileOperations;

namespace GuestOps.Tools.Files;

/// <summary>
/// ChangeFileAttributesInGuest (a symlink path changes its target).
/// <c>Prepare</c> validates the request on any thread (InvalidArgument for empty, relative or NUL-containing paths)
/// and returns the work, which must run on the impersonated thread: every system call it makes is a permission check
/// for that user. Object kinds are decided with lstat; trailing slashes are ignored.
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
