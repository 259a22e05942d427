namespace GuestOps.Server.Hosting;

/// <summary>
/// The server's state directory. The VM sandboxes run as unprivileged host ids (a user namespace), and bubblewrap
/// resolves each VM's directories as that id: every directory on the way to the state directory must be
/// traversable by others. The state directory itself is made traversable (not listable: 0711 at least); its secrets
/// (users.json, server.pfx) stay 0600.
/// </summary>
public static class StateDirectory
{
    public static void Prepare(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(full);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var mode = File.GetUnixFileMode(full);
        const UnixFileMode traverse = UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if ((mode & traverse) != traverse)
        {
            File.SetUnixFileMode(full, mode | traverse);
        }
    }

    /// <summary>Refuses a state directory that unprivileged host ids cannot reach (checked when sandboxes use a user namespace).</summary>
    public static void EnsureReachableByOthers(string path)
    {
        var full = Path.GetFullPath(path);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        for (var parent = Path.GetDirectoryName(full); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if ((File.GetUnixFileMode(parent) & UnixFileMode.OtherExecute) == 0)
            {
                throw new GuestOpsConfigurationException(
                    $"GuestOps:StateDirectory (GUESTOPS_STATE_DIR, --state-dir) '{full}': '{parent}' is not traversable by other users, so the VM sandboxes (unprivileged host ids) cannot reach their files. Choose a directory such as /var/lib/guestops, or run chmod o+x '{parent}'.");
            }
        }
    }
}
