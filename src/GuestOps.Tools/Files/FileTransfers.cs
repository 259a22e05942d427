using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// InitiateFileTransferToGuest / FromGuest in the guest. The initiate step authenticates (done by the caller),
/// validates as the user everything that can be checked before a byte moves, and records a single-use grant: the
/// user's identity (never the password), the path, the direction and the size. The transfer step takes the grant
/// and streams: uploads into a temporary file next to the target that is renamed into place only when complete,
/// downloads straight from the file. File data never sits in memory beyond one pooled buffer.
/// </summary>
internal sealed class FileTransfers(TimeProvider time, TransferGrantFiles? store = null)
{
    /// <summary>Grants outstanding at once; more are refused (TooManyLogons-like pressure, not silent eviction).</summary>
    public const int MaxGrants = 1024;

    /// <summary>Longest grant lifetime a request may ask for.</summary>
    public const int MaxLifetimeSeconds = 24 * 3600;

    private const uint DefaultPermissions = 0x1A4; // 0644, as ESXi gives uploaded files without permissions
    private const uint StagingPermissions = 0x180; // 0600 while incomplete
    private const int BufferSize = 256 * 1024;
    private const int StagingAttempts = 10;

    private readonly ConcurrentDictionary<string, Grant> _grants = new(StringComparer.Ordinal);

    /// <summary>Grants not yet used or expired (diagnostics and tests).</summary>
    public int OutstandingGrants => _grants.Count;

    // ---------------------------------------------------------------- initiate

    /// <summary>Validates an upload (the returned work runs as <paramref name="user"/>) and grants it.</summary>
    public Func<TransferGrantResult> Prepare(InitiateUploadRequest request, GuestUser user)
    {
        var path = GuestPath.Parse(request.Path, "file path");
        if (path.IsRoot)
        {
            throw GuestOperationException.ForPath(GuestErrorCode.NotAFile, path.Original, "'/' is a directory, not a file.");
        }

        if (request.Size < 0)
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"The file size {request.Size} is negative.") { Path = request.Path };
        }

        var attributes = request.Attributes ?? new GuestFileAttributeChanges();
        FileAttributeChanges.Validate(attributes, request.Path);
        CheckOwnership(attributes, user, path);
        var lifetime = Lifetime(request.LifetimeSeconds);
        return () =>
        {
            var rc = PosixFs.Stat(LibC.AT_FDCWD, path.Z, follow: false, out var existing);
            if (rc == 0)
            {
                if (existing.IsSymlink)
                {
                    throw SymbolicLink(path);
                }

                if (existing.IsDirectory)
                {
                    throw GuestOperationException.IsADirectory(path.Original);
                }

                if (!request.Overwrite)
                {
                    throw FileOperations.Exists(path);
                }
            }
            else if (rc != LibC.ENOENT)
            {
                throw GuestOperationException.FromErrno(rc, path.Original, "Cannot access");
            }

            var parent = GuestPath.Parse(path.Parent);
            rc = PosixFs.Stat(LibC.AT_FDCWD, parent.Z, follow: true, out var directory);
            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, parent.Original, "Cannot use directory");
            }

            if (!directory.IsDirectory)
            {
                throw GuestOperationException.NotADirectory(parent.Original);
            }

            // The upload creates a file in the directory and renames it into place: both need write and search.
            rc = PosixIo.AccessAt(parent.Z, LibC.W_OK | LibC.X_OK);
            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, parent.Original, "Cannot create files in");
            }

            CheckFreeSpace(parent, request.Size, user, path);
            var grant = Add(new Grant(Upload: true, user, path, request.Size, request.Overwrite, attributes, time.GetUtcNow() + lifetime));
            return new TransferGrantResult { Grant = grant, User = user.Name };
        };
    }

    /// <summary>Validates a download (the returned work runs as <paramref name="user"/>) and grants it.</summary>
    public Func<TransferGrantResult> Prepare(InitiateDownloadRequest request, GuestUser user)
    {
        var path = GuestPath.Parse(request.Path, "file path");
        var lifetime = Lifetime(request.LifetimeSeconds);
        return () =>
        {
            var fd = OpenForReading(path);
            try
            {
                var rc = PosixIo.StatFd(fd, out var status);
                if (rc != 0)
                {
                    throw GuestOperationException.FromErrno(rc, path.Original, "Cannot access");
                }

                var grant = Add(new Grant(Upload: false, user, path, status.Size, Overwrite: false, new GuestFileAttributeChanges(), time.GetUtcNow() + lifetime));
                return new TransferGrantResult
                {
                    Grant = grant,
                    User = user.Name,
                    File = new GuestFileEntry
                    {
                        Name = path.Original,
                        Type = GuestFileType.File,
                        Size = status.Size,
                        Mode = status.Mode,
                        Uid = status.Uid,
                        Gid = status.Gid,
                        AccessTime = status.AccessTime,
                        ModificationTime = status.ModificationTime,
                    },
                };
            }
            finally
            {
                PosixIo.Close(fd);
            }
        };
    }

    // ---------------------------------------------------------------- transfer

    /// <summary>
    /// Performs a granted upload from <paramref name="data"/>. Whatever goes wrong (short or long body, aborted
    /// stream, full disk, cancellation), the staging file is removed and the target is left as it was.
    /// </summary>
    public async Task UploadAsync(UploadRequest request, ChannelDataReader data, IImpersonator impersonator, CancellationToken cancellationToken)
    {
        var grant = Take(request.Grant, upload: true);
        await UploadAsync(grant, (buffer, ct) => ReadChannelAsync(data, buffer, grant, ct), impersonator, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Performs a granted upload from an open file (the one-shot worker's staging copy, which the host wrote to
    /// a root-only directory): the same checks, staging and commit as the user as <see cref="UploadAsync(UploadRequest, ChannelDataReader, IImpersonator, CancellationToken)"/>.</summary>
    public async Task UploadAsync(UploadRequest request, int sourceFd, IImpersonator impersonator, CancellationToken cancellationToken)
    {
        var grant = Take(request.Grant, upload: true);
        await UploadAsync(grant, (buffer, _) => ReadFd(sourceFd, buffer, grant), impersonator, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Receives the granted bytes from <paramref name="read"/> into a staging file created as the user, and
    /// commits it to the target as the user; on any failure the staging file is removed.</summary>
    private async Task UploadAsync(Grant grant, Func<byte[], CancellationToken, ValueTask<int>> read, IImpersonator impersonator, CancellationToken cancellationToken)
    {
        var staging = await impersonator.RunAsAsync(grant.User, () => CreateStaging(grant), CancellationToken.None).ConfigureAwait(false);
        var complete = false;
        try
        {
            await ReceiveAsync(grant, staging.Fd, read, cancellationToken).ConfigureAwait(false);
            await impersonator.RunAsAsync(grant.User, () => Commit(grant, staging), cancellationToken).ConfigureAwait(false);
            complete = true;
        }
        finally
        {
            PosixIo.Close(staging.Fd);
            if (!complete && staging.Path is { } named)
            {
                // Not cancellable: the staging file must go even when the call was canceled. (An unnamed O_TMPFILE
                // staging file needs nothing: closing it frees it, as does the worker dying.)
                await impersonator.RunAsAsync(grant.User, () => PosixIo.UnlinkAt(LibC.AT_FDCWD, named.Z, directory: false), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Performs a granted download into an open file (the one-shot worker's staging copy in a root-only
    /// directory): the source is opened as the user, exactly the granted size is copied, or an error.</summary>
    public Task DownloadAsync(DownloadRequest request, int targetFd, IImpersonator impersonator, CancellationToken cancellationToken) =>
        DownloadAsync(request, (chunk, _) =>
        {
            var rc = PosixIo.WriteAll(targetFd, chunk.Span);
            return rc == 0 ? ValueTask.CompletedTask : ValueTask.FromException(GuestOperationException.FromErrno(rc, "(staging copy)", "Cannot write"));
        }, impersonator, cancellationToken);

    /// <summary>Performs a granted download into <paramref name="data"/>: exactly the granted size, or an error.</summary>
    public Task DownloadAsync(DownloadRequest request, ChannelDataWriter data, IImpersonator impersonator, CancellationToken cancellationToken) =>
        DownloadAsync(request, (chunk, ct) => data.WriteAsync(chunk, ct), impersonator, cancellationToken);

    private async Task DownloadAsync(DownloadRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, IImpersonator impersonator, CancellationToken cancellationToken)
    {
        var grant = Take(request.Grant, upload: false);
        var fd = await impersonator.RunAsAsync(grant.User, () => OpenGrantedFile(grant), cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var remaining = grant.Size;
            while (remaining > 0)
            {
                var n = PosixIo.Read(fd, buffer.AsSpan(0, (int)Math.Min(buffer.Length, remaining)));
                if (n < 0)
                {
                    throw GuestOperationException.FromErrno((int)-n, grant.Path.Original, "Cannot read");
                }

                if (n == 0)
                {
                    throw GuestOperationException.ForPath(GuestErrorCode.FileAccessError, grant.Path.Original, $"'{grant.Path.Original}' became shorter while it was being read.");
                }

                await write(buffer.AsMemory(0, (int)n), cancellationToken).ConfigureAwait(false);
                remaining -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            PosixIo.Close(fd);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static TimeSpan Lifetime(int seconds) => TimeSpan.FromSeconds(Math.Clamp(seconds, 1, MaxLifetimeSeconds));

    /// <summary>A non-root user can neither give a file away nor pick a group it is not in: refuse before the upload.</summary>
    private static void CheckOwnership(GuestFileAttributeChanges attributes, GuestUser user, GuestPath path)
    {
        if (user.Uid == 0)
        {
            return;
        }

        if (attributes.OwnerId is { } owner && owner != -1 && (uint)owner != user.Uid)
        {
            throw GuestOperationException.ForPath(GuestErrorCode.PermissionDenied, path.Original, $"User {user.Name} cannot give '{path.Original}' to uid {owner}.");
        }

        if (attributes.GroupId is { } group && group != -1 && (uint)group != user.Gid && !user.Groups.Contains((uint)group))
        {
            throw GuestOperationException.ForPath(GuestErrorCode.PermissionDenied, path.Original, $"User {user.Name} is not a member of group {group}.");
        }
    }

    /// <summary>With a grant store (the one-shot worker): writes the grants this run issued to it, on the caller's (root)
    /// thread — they are issued on the user's thread, which may not write the tools' root-only directory.</summary>
    public void SaveGrants()
    {
        if (store is null)
        {
            return;
        }

        foreach (var (id, grant) in _grants)
        {
            store.Save(id, grant, MaxGrants);
            _grants.TryRemove(id, out _);
        }
    }

    private string Add(Grant grant)
    {
        var now = time.GetUtcNow();
        foreach (var (id, old) in _grants)
        {
            if (old.Expires <= now)
            {
                _grants.TryRemove(id, out _);
            }
        }

        if (_grants.Count >= MaxGrants)
        {
            throw new GuestOperationException(GuestErrorCode.TooManyLogons, $"Too many file transfers are waiting to be used ({MaxGrants}); use or let some expire first.");
        }

        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _grants[key] = grant;
        return key;
    }

    private Grant Take(string id, bool upload)
    {
        Grant? grant = null;
        if (string.IsNullOrEmpty(id) || !(_grants.TryRemove(id, out grant) || (store is not null && (grant = store.Take(id)) is not null)) || grant!.Upload != upload)
        {
            throw new GuestOperationException(GuestErrorCode.TransferNotGranted, "The guest agent has no such file transfer (already used, expired, or the agent restarted).");
        }

        if (grant.Expires <= time.GetUtcNow())
        {
            throw new GuestOperationException(GuestErrorCode.TransferNotGranted, "The file transfer has expired.") { Path = grant.Path.Original };
        }

        return grant;
    }

    private static int OpenForReading(GuestPath path)
    {
        var status = FileOperations.LStat(path);
        if (status.IsSymlink)
        {
            throw SymbolicLink(path);
        }

        if (!status.IsRegular)
        {
            throw GuestOperationException.ForPath(GuestErrorCode.NotAFile, path.Original, status.IsDirectory ? $"'{path.Original}' is a directory, not a file." : $"'{path.Original}' is not a regular file.");
        }

        var rc = PosixIo.OpenAt(LibC.AT_FDCWD, path.Z, LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_NOCTTY, 0, out var fd);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, path.Original, "Cannot read");
        }

        return fd;
    }

    private static GuestOperationException SymbolicLink(GuestPath path) =>
        new(GuestErrorCode.InvalidArgument, $"'{path.Original}' is a symbolic link; transfers do not follow links.") { Path = path.Original };

    private static int OpenGrantedFile(Grant grant)
    {
        var fd = OpenForReading(grant.Path);
        var rc = PosixIo.StatFd(fd, out var status);
        if (rc != 0 || !status.IsRegular || status.Size != grant.Size)
        {
            PosixIo.Close(fd);
            throw rc != 0
                ? GuestOperationException.FromErrno(rc, grant.Path.Original, "Cannot access")
                : GuestOperationException.ForPath(GuestErrorCode.FileAccessError, grant.Path.Original,
                    $"'{grant.Path.Original}' changed since the transfer was initiated (size {status.Size}, expected {grant.Size}).");
        }

        return fd;
    }

    /// <summary>
    /// The file the upload is written to, preallocated to its size so a full disk fails before the data flows: an
    /// unnamed O_TMPFILE file in the target's directory where the file system supports it (nothing is ever visible
    /// before the commit, and nothing is left behind even if the worker is killed), otherwise an exclusively created,
    /// owner-only <c>.NAME.guestops-RANDOM</c> file next to the target.
    /// </summary>
    private static Staging CreateStaging(Grant grant)
    {
        var parent = GuestPath.Parse(grant.Path.Parent);
        var rc = PosixIo.OpenAt(LibC.AT_FDCWD, parent.Z, LibC.O_TMPFILE | LibC.O_WRONLY | LibC.O_NOCTTY, StagingPermissions, out var unnamed);
        if (rc == 0)
        {
            Preallocate(grant, unnamed, null);
            return new Staging(null, unnamed);
        }

        if (rc is not (LibC.EOPNOTSUPP or LibC.EISDIR or LibC.EINVAL or LibC.ENOSYS))
        {
            throw GuestOperationException.FromErrno(rc, parent.Original, "Cannot create files in");
        }

        var name = grant.Path.Name;
        for (var attempt = 0; attempt < StagingAttempts; attempt++)
        {
            var random = RandomNumberGenerator.GetHexString(12, lowercase: true);
            var candidateName = name.Length <= 200 ? $".{name}.guestops-{random}" : $".guestops-upload-{random}";
            var candidate = parent.Child(candidateName);
            rc = PosixIo.OpenAt(LibC.AT_FDCWD, candidate.Z, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW | LibC.O_NOCTTY, StagingPermissions, out var fd);
            if (rc == LibC.EEXIST)
            {
                continue;
            }

            if (rc != 0)
            {
                throw GuestOperationException.FromErrno(rc, parent.Original, "Cannot create files in");
            }

            Preallocate(grant, fd, candidate);
            return new Staging(candidate, fd);
        }

        throw GuestOperationException.ForPath(GuestErrorCode.FileAlreadyExists, parent.Original, $"Cannot find an unused staging name in '{parent.Original}'.");
    }

    private static void Preallocate(Grant grant, int fd, GuestPath? named)
    {
        if (grant.Size == 0 || LibC.fallocate(fd, 0, 0, grant.Size) == 0)
        {
            return;
        }

        var e = PosixIo.LastError();
        if (e is LibC.EOPNOTSUPP or LibC.ENOSYS or LibC.EINVAL)
        {
            return; // the file system cannot preallocate: ENOSPC, if it comes, comes from write
        }

        PosixIo.Close(fd);
        if (named is not null)
        {
            _ = PosixIo.UnlinkAt(LibC.AT_FDCWD, named.Z, directory: false);
        }

        throw GuestOperationException.FromErrno(e, grant.Path.Original, $"Cannot store {grant.Size} bytes for");
    }

    /// <summary>Refuses an upload larger than the space the user may still use on the target's file system.</summary>
    private static unsafe void CheckFreeSpace(GuestPath directory, long size, GuestUser user, GuestPath path)
    {
        if (size == 0)
        {
            return;
        }

        LibC.StatVfs vfs;
        int rc;
        fixed (byte* p = directory.Z)
        {
            rc = LibC.statvfs(p, &vfs);
        }

        if (rc != 0)
        {
            return; // unknown: the upload itself will tell
        }

        var blocks = user.Uid == 0 ? vfs.BlocksFree : vfs.BlocksAvailable;
        var available = (ulong)Math.Min((double)blocks * vfs.FragmentSize, long.MaxValue);
        if ((ulong)size > available)
        {
            throw new GuestOperationException(GuestErrorCode.NoDiskSpace, $"Cannot store {size} bytes for '{path.Original}': {available} bytes are free on its file system.") { Path = path.Original, OsError = LibC.ENOSPC };
        }
    }

    private static async ValueTask<int> ReadChannelAsync(ChannelDataReader data, byte[] buffer, Grant grant, CancellationToken cancellationToken)
    {
        try
        {
            return await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelDataAbortedException e)
        {
            throw new GuestOperationException(GuestErrorCode.Canceled, $"The upload to '{grant.Path.Original}' was interrupted: {e.Message}") { Path = grant.Path.Original };
        }
    }

    private static ValueTask<int> ReadFd(int fd, byte[] buffer, Grant grant)
    {
        var n = PosixIo.Read(fd, buffer);
        return n >= 0
            ? ValueTask.FromResult((int)n)
            : ValueTask.FromException<int>(GuestOperationException.FromErrno((int)-n, grant.Path.Original, "Cannot read the staged upload for"));
    }

    private static async Task ReceiveAsync(Grant grant, int fd, Func<byte[], CancellationToken, ValueTask<int>> read, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long total = 0;
            while (true)
            {
                var n = await read(buffer, cancellationToken).ConfigureAwait(false);

                if (n == 0)
                {
                    break;
                }

                total += n;
                if (total > grant.Size)
                {
                    throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"The upload to '{grant.Path.Original}' carries more than the {grant.Size} bytes given as fileSize.") { Path = grant.Path.Original };
                }

                var rc = PosixIo.WriteAll(fd, buffer.AsSpan(0, n));
                if (rc != 0)
                {
                    throw GuestOperationException.FromErrno(rc, grant.Path.Original, "Cannot write");
                }
            }

            if (total != grant.Size)
            {
                throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"The upload to '{grant.Path.Original}' ended after {total} of the {grant.Size} bytes given as fileSize.") { Path = grant.Path.Original };
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Attributes, then into place, without overwrite atomically refusing a file that appeared meanwhile: an
    /// unnamed file is linked (straight to the target, or to a staging name renamed over the target); a named one renamed.</summary>
    private static EmptyResult Commit(Grant grant, Staging staging)
    {
        FileAttributeChanges.Apply(staging.Fd, grant.Path.Original, grant.Attributes, DefaultPermissions);
        int rc;
        if (staging.Path is { } named)
        {
            rc = MoveOperation.Rename(named, grant.Path, noReplace: !grant.Overwrite);
        }
        else if (!grant.Overwrite)
        {
            rc = Link(staging.Fd, grant.Path);
        }
        else
        {
            var temporary = GuestPath.Parse(grant.Path.Parent).Child($".guestops-{RandomNumberGenerator.GetHexString(12, lowercase: true)}");
            rc = Link(staging.Fd, temporary);
            if (rc == 0)
            {
                rc = MoveOperation.Rename(temporary, grant.Path, noReplace: false);
                if (rc != 0)
                {
                    _ = PosixIo.UnlinkAt(LibC.AT_FDCWD, temporary.Z, directory: false);
                }
            }
        }

        switch (rc)
        {
            case 0:
                return EmptyResult.Instance;
            case LibC.EEXIST when !grant.Overwrite:
                throw FileOperations.Exists(grant.Path, rc);
            case LibC.EISDIR or LibC.EEXIST or LibC.ENOTEMPTY:
                throw GuestOperationException.IsADirectory(grant.Path.Original, rc);
            default:
                throw GuestOperationException.FromErrno(rc, grant.Path.Original, "Cannot store");
        }
    }

    internal sealed record Grant(bool Upload, GuestUser User, GuestPath Path, long Size, bool Overwrite, GuestFileAttributeChanges Attributes, DateTimeOffset Expires);

    /// <summary>Gives an unnamed (O_TMPFILE) file a name: linkat of /proc/thread-self/fd/N, which this thread (with the
    /// user's credentials) may follow, unlike /proc/self (the worker's main thread is root).</summary>
    private static unsafe int Link(int fd, GuestPath target)
    {
        var source = LibC.Utf8Z($"/proc/thread-self/fd/{fd.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        fixed (byte* s = source)
        fixed (byte* t = target.Z)
        {
            return LibC.linkat(LibC.AT_FDCWD, s, LibC.AT_FDCWD, t, LibC.AT_SYMLINK_FOLLOW) == 0 ? 0 : PosixIo.LastError();
        }
    }

    /// <summary>The open staging file; <see cref="Path"/> is null for an unnamed (O_TMPFILE) one.</summary>
    private sealed record Staging(GuestPath? Path, int Fd);
}
