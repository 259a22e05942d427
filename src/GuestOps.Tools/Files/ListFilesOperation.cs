using System.Text.RegularExpressions;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// ListFiles with the reference semantics (vim25 ListFilesInGuest, open-vm-tools VixToolsListFiles):
/// <list type="bullet">
/// <item>a directory (after following symlinks) lists <c>.</c> and <c>..</c> first, then its entries in directory order;</item>
/// <item>anything else yields one entry whose name is the given path;</item>
/// <item><c>matchPattern</c> is a regular expression searched in each name; <c>index</c> counts within the matching
/// names; <c>maxResults</c> defaults to 50; <c>remaining</c> = matching names after the page;</item>
/// <item>type from lstat; for a symlink its text in <c>SymlinkTarget</c> and the target's attributes (the link's own
/// when dangling); size 0 for directories.</item>
/// </list>
/// <see cref="Prepare"/> validates on any thread; <see cref="Execute"/> must run on the impersonated thread, because
/// every system call it makes is a permission check for that user.
/// </summary>
internal static class ListFilesOperation
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    /// <summary>A validated request.</summary>
    public sealed record Plan(string Path, int Index, int MaxResults, Regex? Pattern);

    /// <exception cref="GuestOperationException">InvalidArgument for a bad path, index, page size or pattern.</exception>
    public static Plan Prepare(ListFilesRequest request)
    {
        var path = request.Path;
        if (string.IsNullOrEmpty(path))
        {
            throw Invalid("The file path is empty.", path);
        }

        if (path.Contains('\0'))
        {
            throw Invalid("The file path contains a NUL character.", path);
        }

        if (path[0] != '/')
        {
            throw Invalid($"The file path '{path}' is not absolute.", path);
        }

        if (request.Index < 0)
        {
            throw Invalid($"The index {request.Index} is negative.", path);
        }

        var max = request.MaxResults ?? ListFilesRequest.DefaultMaxResults;
        if (max < 0)
        {
            throw Invalid($"maxResults {max} is negative.", path);
        }

        Regex? regex = null;
        if (!string.IsNullOrEmpty(request.MatchPattern) && request.MatchPattern != ".*")
        {
            try
            {
                regex = new Regex(request.MatchPattern, RegexOptions.None, RegexTimeout);
            }
            catch (ArgumentException ex)
            {
                throw Invalid($"Invalid matchPattern: {ex.Message}", path);
            }
        }

        return new Plan(path, request.Index, max, regex);
    }

    public static ListFilesResult Execute(Plan plan)
    {
        var pathZ = LibC.Utf8Z(plan.Path);
        var rc = PosixFs.Stat(LibC.AT_FDCWD, pathZ, follow: false, out var own);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, plan.Path, "Cannot access");
        }

        var isDirectory = own.IsDirectory;
        if (own.IsSymlink && PosixFs.Stat(LibC.AT_FDCWD, pathZ, follow: true, out var target) == 0)
        {
            isDirectory = target.IsDirectory;
        }

        if (!isDirectory)
        {
            var baseName = plan.Path.TrimEnd('/');
            baseName = baseName[(baseName.LastIndexOf('/') + 1)..];
            if (!Matches(plan.Pattern, baseName))
            {
                return new ListFilesResult { Entries = [], Remaining = 0 };
            }

            var entry = Describe(LibC.AT_FDCWD, pathZ, plan.Path, directory: null)
                        ?? throw GuestOperationException.FromErrno(LibC.ENOENT, plan.Path, "Cannot access");
            return Page([entry.Name], plan, (_, _) => entry.Entry);
        }

        rc = PosixFs.OpenDirectory(pathZ, out var dir);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, plan.Path, "Cannot list");
        }

        using (dir)
        {
            var names = new List<(string Name, byte[] NameZ)>();
            foreach (var dot in (ReadOnlySpan<string>)[".", ".."])
            {
                if (Matches(plan.Pattern, dot))
                {
                    names.Add((dot, LibC.Utf8Z(dot)));
                }
            }

            int readError;
            while (dir!.TryReadNext(out var nameZ, out var name, out readError))
            {
                if (IsRepresentable(nameZ!, name!) && Matches(plan.Pattern, name!))
                {
                    names.Add((name!, nameZ!));
                }
            }

            if (readError != 0)
            {
                throw GuestOperationException.FromErrno(readError, plan.Path, "Cannot list");
            }

            return Page(
                names.Select(n => n.Name).ToList(),
                plan,
                (i, name) => Describe(dir.Fd, names[i].NameZ, name, plan.Path)?.Entry);
        }
    }

    private static ListFilesResult Page(IReadOnlyList<string> matching, Plan plan, Func<int, string, GuestFileEntry?> describe)
    {
        var start = Math.Min(plan.Index, matching.Count);
        var take = Math.Min(plan.MaxResults, matching.Count - start);
        var entries = new List<GuestFileEntry>(take);
        for (var i = start; i < start + take; i++)
        {
            // An entry that vanished since readdir is skipped (the reference allows omissions under concurrent change).
            if (describe(i, matching[i]) is { } e)
            {
                entries.Add(e);
            }
        }

        return new ListFilesResult { Entries = entries, Remaining = matching.Count - start - take };
    }

    /// <summary>Describes one object (<paramref name="name"/> in <paramref name="directory"/>, or the path itself when
    /// <paramref name="directory"/> is null); null if it no longer exists.</summary>
    private static (string Name, GuestFileEntry Entry)? Describe(int dirfd, byte[] nameZ, string name, string? directory)
    {
        var rc = PosixFs.Stat(dirfd, nameZ, follow: false, out var own);
        if (rc == LibC.ENOENT)
        {
            return null;
        }

        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, directory is null ? name : directory + "/" + name, "Cannot access");
        }

        var type = own.IsDirectory ? GuestFileType.Directory : GuestFileType.File;
        var attributes = own;
        string? linkTarget = null;
        if (own.IsSymlink)
        {
            type = GuestFileType.Symlink;
            _ = PosixFs.ReadLink(dirfd, nameZ, out linkTarget);
            if (PosixFs.Stat(dirfd, nameZ, follow: true, out var target) == 0)
            {
                attributes = target; // attributes describe the target ...
            }

            // ... or the link itself when the target is missing or unreachable.
        }

        return (name, new GuestFileEntry
        {
            Name = name,
            Type = type,
            Size = attributes.IsDirectory ? 0 : attributes.Size,
            Mode = attributes.Mode,
            Uid = attributes.Uid,
            Gid = attributes.Gid,
            AccessTime = attributes.AccessTime,
            ModificationTime = attributes.ModificationTime,
            SymlinkTarget = linkTarget,
        });
    }

    /// <summary>
    /// Whether a name can travel in a SOAP (XML 1.0) answer and be used again: valid UTF-8 and free of the control
    /// characters XML 1.0 cannot carry. Other names are left out of listings (before paging, so index and remaining
    /// stay consistent): returning them altered would name a different file.
    /// </summary>
    private static bool IsRepresentable(byte[] nameZ, string name)
    {
        if (!System.Text.Unicode.Utf8.IsValid(nameZ.AsSpan(0, nameZ.Length - 1)))
        {
            return false;
        }

        foreach (var c in name)
        {
            if ((c < 0x20 && c is not '\t' and not '\n' and not '\r') || c is '\uFFFE' or '\uFFFF')
            {
                return false;
            }
        }

        return true;
    }

    private static bool Matches(Regex? pattern, string name)
    {
        if (pattern is null)
        {
            return true;
        }

        try
        {
            return pattern.IsMatch(name);
        }
        catch (RegexMatchTimeoutException)
        {
            throw Invalid("matchPattern is too expensive to evaluate (timed out).", name);
        }
    }

    private static GuestOperationException Invalid(string message, string? path) =>
        new(GuestErrorCode.InvalidArgument, message) { Path = path };
}
