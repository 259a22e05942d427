namespace GuestOps.Host.Enrollment;

/// <summary>Small-file helpers for the host agent's state files: atomic 0600 writes and a lock shared by processes (the
/// running server and the admin command).</summary>
public static class StateFiles
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates the directory (0700 when new) and returns its full path.</summary>
    public static string EnsureDirectory(string path)
    {
        path = Path.GetFullPath(path);
        if (!Directory.Exists(path))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, OwnerOnlyDirectory);
            }
        }

        return path;
    }

    /// <summary>Writes a whole file atomically (temporary file created with <paramref name="mode"/>, then renamed).</summary>
    public static void WriteAtomically(string path, string contents, UnixFileMode mode = OwnerOnly)
    {
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(contents);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Takes an exclusive lock on <paramref name="path"/> (flock), waiting up to <paramref name="timeout"/>.</summary>
    public static FileStream Lock(string path, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        while (true)
        {
            try
            {
                return new FileStream(path, options);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(15);
            }
        }
    }
}
