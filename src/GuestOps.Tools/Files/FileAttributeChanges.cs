using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// Applies vSphere file attributes (ChangeFileAttributesInGuest, InitiateFileTransferToGuest) on this POSIX guest,
/// each only when set: owner/group with chown (-1 = unchanged; EPERM for a non-root user giving a file away is
/// PermissionDenied), permissions with chmod (file-type bits ignored), access and modification times with utimensat
/// (an unset one is left as it is). Runs on the impersonated thread: the kernel decides what the user may change.
/// </summary>
internal static class FileAttributeChanges
{
    /// <exception cref="GuestOperationException">NotSupported for Windows attributes; InvalidArgument for bad values.</exception>
    public static void Validate(GuestFileAttributeChanges attributes, string? path)
    {
        if (attributes.Kind != GuestAttributeKind.Posix)
        {
            throw new GuestOperationException(GuestErrorCode.NotSupported, "Windows file attributes are not supported by this (Linux) guest; use POSIX attributes.") { Path = path };
        }

        if (attributes.OwnerId is < -1 || attributes.GroupId is < -1)
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, "ownerId and groupId must be ids (or -1 for unchanged).") { Path = path };
        }

        if (attributes.Permissions is < 0 or > uint.MaxValue)
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"Invalid permissions {attributes.Permissions}.") { Path = path };
        }
    }

    /// <summary>Applies <paramref name="attributes"/> to the object at <paramref name="path"/> (following a symlink).</summary>
    public static unsafe void Apply(GuestPath path, GuestFileAttributeChanges attributes)
    {
        fixed (byte* p = path.Z)
        {
            var (owner, group) = Owner(attributes);
            if (owner != uint.MaxValue || group != uint.MaxValue)
            {
                // Before chmod: chown clears set-user/group-ID bits that chmod may then set.
                Check(LibC.fchownat(LibC.AT_FDCWD, p, owner, group, 0), path.Original, "Cannot change the owner of");
            }

            if (attributes.Permissions is { } permissions)
            {
                Check(LibC.fchmodat(LibC.AT_FDCWD, p, (uint)permissions & 0xFFF, 0), path.Original, "Cannot change the permissions of");
            }

            if (attributes.AccessTime is not null || attributes.ModificationTime is not null)
            {
                var times = stackalloc LibC.Timespec[2];
                Times(attributes, times);
                Check(LibC.utimensat(LibC.AT_FDCWD, p, times, 0), path.Original, "Cannot change the times of");
            }
        }
    }

    /// <summary>Applies <paramref name="attributes"/> to an open file; <paramref name="defaultPermissions"/> when none are set.</summary>
    public static unsafe void Apply(int fd, string path, GuestFileAttributeChanges attributes, uint defaultPermissions)
    {
        var (owner, group) = Owner(attributes);
        if (owner != uint.MaxValue || group != uint.MaxValue)
        {
            Check(LibC.fchown(fd, owner, group), path, "Cannot change the owner of");
        }

        Check(LibC.fchmod(fd, attributes.Permissions is { } permissions ? (uint)permissions & 0xFFF : defaultPermissions), path, "Cannot change the permissions of");
        if (attributes.AccessTime is not null || attributes.ModificationTime is not null)
        {
            var times = stackalloc LibC.Timespec[2];
            Times(attributes, times);
            Check(LibC.futimens(fd, times), path, "Cannot change the times of");
        }
    }

    private static (uint Owner, uint Group) Owner(GuestFileAttributeChanges attributes) => (
        attributes.OwnerId is null or -1 ? uint.MaxValue : (uint)attributes.OwnerId.Value,
        attributes.GroupId is null or -1 ? uint.MaxValue : (uint)attributes.GroupId.Value);

    private static unsafe void Times(GuestFileAttributeChanges attributes, LibC.Timespec* times)
    {
        times[0] = attributes.AccessTime is { } a ? FileTree.ToTimespec(a) : new LibC.Timespec { Nanoseconds = LibC.UTIME_OMIT };
        times[1] = attributes.ModificationTime is { } m ? FileTree.ToTimespec(m) : new LibC.Timespec { Nanoseconds = LibC.UTIME_OMIT };
    }

    private static void Check(int rc, string path, string what)
    {
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(PosixIo.LastError(), path, what);
        }
    }
}
