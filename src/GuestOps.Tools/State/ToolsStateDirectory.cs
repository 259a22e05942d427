using GuestOps.Tools.Errors;

namespace GuestOps.Tools.State;

/// <summary>
/// The root-only directory of tools that are pushed into a guest and run once per call (<c>guestops-tools --exec</c>
/// through qemu-ga's guest-exec): the binary itself, and what must outlive one run — file-transfer grants, the records
/// of started programs (kept 5 minutes after they exit), the staging copies of transfers, and the resident tools' pipes. Every directory is 0700
/// root: no guest user can read, create, replace or link anything in it, so the agent's root rights never act on a path
/// a user controls.
/// </summary>
internal sealed class ToolsStateDirectory
{
    /// <summary>Where the host agent installs the tools unless told otherwise.</summary>
    public const string Default = "/var/lib/guestops-tools";

    private const UnixFileMode RootOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public ToolsStateDirectory(string root)
    {
        Root = root;
    }

    public string Root { get; }

    public string Grants => Path.Combine(Root, "grants");

    public string Programs => Path.Combine(Root, "programs");

    public string Staging => Path.Combine(Root, "staging");

    /// <summary>The resident tools' pipes (<c>guestops-tools --resident</c>).</summary>
    public string Resident => Path.Combine(Root, "resident");

    /// <summary>Creates the directories (0700) and refuses a root that is a symbolic link.</summary>
    public ToolsStateDirectory Ensure()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new GuestOperationException(Channel.Messages.GuestErrorCode.NotSupported, "The one-shot tools need a POSIX guest.");
        }

        foreach (var directory in new[] { Root, Grants, Programs, Staging, Resident })
        {
            Directory.CreateDirectory(directory, RootOnly);
            var info = new DirectoryInfo(directory);
            if (info.LinkTarget is not null)
            {
                throw new GuestOperationException(Channel.Messages.GuestErrorCode.InternalError, $"The tools directory {directory} is a symbolic link.");
            }

            if ((info.UnixFileMode & ~RootOnly) != 0)
            {
                File.SetUnixFileMode(directory, RootOnly);
            }
        }

        return this;
    }

    /// <summary>Creates a new file only root can read and write (0600), failing if it exists.</summary>
    public static FileStream CreateRootOnlyFile(string path, FileMode mode = FileMode.CreateNew) =>
        OperatingSystem.IsWindows()
            ? new FileStream(path, mode, FileAccess.Write)
            : new FileStream(path, new FileStreamOptions { Mode = mode, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });

    /// <summary>A staging file's path from the name the host gave: 32 lowercase hex digits, nothing else.</summary>
    public string StagingFile(string name)
    {
        if (name.Length != 32 || !name.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
        {
            throw new GuestOperationException(Channel.Messages.GuestErrorCode.InvalidArgument, $"'{name}' is not a staging name (32 hex digits).");
        }

        return Path.Combine(Staging, name);
    }
}
