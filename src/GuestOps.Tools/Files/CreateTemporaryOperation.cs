using System.Security.Cryptography;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Native;
using static GuestOps.Tools.Files.FileOperations;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// CreateTemporaryFileInGuest and CreateTemporaryDirectoryInGuest.
/// Runs as the user (see <see cref="FileOperations"/>).
/// </summary>
internal static class CreateTemporaryOperation
{
    private const uint TemporaryFileMode = 0x180; // 0600
    private const uint TemporaryDirectoryMode = 0x1C0; // 0700
    private const int TemporaryAttempts = 100;
    private const int TemporaryRandomLength = 10;

    /// <summary>The system temporary directory the per-user one is made in (see <see cref="DefaultTemporaryDirectory"/>).</summary>
    internal const string TemporaryRoot = "/tmp";

    /// <summary>
    /// Atomically creates <c>directory/prefix + random + suffix</c>: a file with O_CREAT|O_EXCL|O_NOFOLLOW and mode
    /// 0600, or a directory with mkdir and mode 0700, owned by the user (it is created on the user's thread); a name
    /// collision is retried with a new random part. The directory must exist (FileNotFound) and be a directory
    /// (NotADirectory). Without one, the user's own temporary directory (<see cref="DefaultTemporaryDirectory"/>).
    /// </summary>
    public static Func<PathResult> Prepare(CreateTemporaryRequest request, GuestUser user)
    {
        var directory = GuestPath.ParseOptional(request.Directory, "directory path");
        foreach (var (part, what) in new[] { (request.Prefix ?? "", "prefix"), (request.Suffix ?? "", "suffix") })
        {
            if (part.Contains('/') || part.Contains('\0'))
            {
                throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"The {what} '{part.Replace("\0", "\\0", StringComparison.Ordinal)}' must not contain '/' or NUL.") { Path = request.Directory };
            }
        }

        return () =>
        {
            var dir = directory ?? DefaultTemporaryDirectory(user, TemporaryRoot);
            var st = PosixFs.Stat(LibC.AT_FDCWD, dir.Z, follow: true, out var status);
            if (st != 0)
            {
                throw GuestOperationException.FromErrno(st, dir.Original, "Cannot use directory");
            }

            if (!status.IsDirectory)
            {
                throw GuestOperationException.NotADirectory(dir.Original);
            }

            for (var attempt = 0; attempt < TemporaryAttempts; attempt++)
            {
                var name = (request.Prefix ?? "") + RandomNumberGenerator.GetString(TemporaryAlphabet, TemporaryRandomLength) + (request.Suffix ?? "");
                var candidate = dir.Child(name);
                var rc = request.IsDirectory ? CreateTemporaryDirectory(candidate) : CreateTemporaryFile(candidate);
                if (rc == 0)
                {
                    return new PathResult { Path = candidate.Value };
                }

                if (rc != LibC.EEXIST)
                {
                    throw GuestOperationException.FromErrno(rc, rc == LibC.ENAMETOOLONG ? candidate.Value : dir.Original, request.IsDirectory ? "Cannot create a temporary directory in" : "Cannot create a temporary file in");
                }
            }

            throw GuestOperationException.ForPath(GuestErrorCode.FileAlreadyExists, dir.Original, $"Cannot find an unused temporary name in '{dir.Original}'.");
        };
    }

    private static int CreateTemporaryFile(GuestPath path)
    {
        var rc = PosixIo.OpenAt(LibC.AT_FDCWD, path.Z, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW | LibC.O_NOCTTY, TemporaryFileMode, out var fd);
        if (rc != 0)
        {
            return rc;
        }

        try
        {
            return LibC.fchmod(fd, TemporaryFileMode) == 0 ? 0 : PosixIo.LastError(); // exact mode whatever the umask
        }
        finally
        {
            PosixIo.Close(fd);
        }
    }

    private static int CreateTemporaryDirectory(GuestPath path)
    {
        var rc = PosixIo.MkdirAt(LibC.AT_FDCWD, path.Z, TemporaryDirectoryMode);
        if (rc != 0)
        {
            return rc;
        }

        rc = PosixIo.OpenDirectoryNoFollow(LibC.AT_FDCWD, path.Z, out var fd);
        if (rc != 0)
        {
            return rc;
        }

        try
        {
            return LibC.fchmod(fd, TemporaryDirectoryMode) == 0 ? 0 : PosixIo.LastError();
        }
        finally
        {
            PosixIo.Close(fd);
        }
    }

    /// <summary>
    /// The user's own temporary directory, as open-vm-tools picks it on Linux (a per-user safe directory):
    /// <c>/tmp/vmware-&lt;user&gt;</c>, created 0700 by the user on first use. It is used only if it really is a
    /// directory (not a symlink) owned by the user with no group/other permissions; if someone else squatted the
    /// name, <c>/tmp</c> itself is used — still safe, because the entry itself is created exclusively (O_EXCL /
    /// mkdir) with a random name and owner-only permissions, and /tmp's sticky bit keeps others from removing it.
    /// </summary>
    internal static GuestPath DefaultTemporaryDirectory(GuestUser user, string temporaryRoot)
    {
        var root = GuestPath.Parse(temporaryRoot);
        if (user.Name.Length == 0 || user.Name.Contains('/') || user.Name.Contains('\0'))
        {
            return root;
        }

        var mine = root.Child("vmware-" + user.Name);
        var rc = PosixIo.MkdirAt(LibC.AT_FDCWD, mine.Z, TemporaryDirectoryMode);
        if (rc != 0 && rc != LibC.EEXIST)
        {
            return root;
        }

        rc = PosixIo.OpenDirectoryNoFollow(LibC.AT_FDCWD, mine.Z, out var fd);
        if (rc != 0)
        {
            return root;
        }

        try
        {
            if (PosixIo.StatFd(fd, out var st) != 0 || !st.IsDirectory || st.Uid != user.Uid)
            {
                return root;
            }

            if ((st.Mode & 0x3F) != 0 && LibC.fchmod(fd, TemporaryDirectoryMode) != 0)
            {
                return root;
            }

            return mine;
        }
        finally
        {
            PosixIo.Close(fd);
        }
    }
}
