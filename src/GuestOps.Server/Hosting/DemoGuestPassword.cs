using System.Security.Cryptography;
using System.Text;

namespace GuestOps.Server.Hosting;

/// <summary>
/// The password of the simulated VMs' guest accounts (<c>root</c>, <c>demo</c>) unless configured
/// (<c>GuestOps:DemoGuestPassword</c>, <c>GUESTOPS_DEMO_GUEST_PASSWORD</c>): created randomly the first time a state directory is
/// used, printed once on the console (never logged) and kept in <see cref="FileName"/> (0600) in the state directory, so
/// every later start keeps it, as the vSphere root password is kept.
/// </summary>
internal static class DemoGuestPassword
{
    public const string FileName = "guest-password";

    public static string LoadOrCreate(string? configured, string stateDirectory, TextWriter console)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        var path = Path.Combine(Path.GetFullPath(stateDirectory), FileName);
        if (File.Exists(path))
        {
            var kept = File.ReadAllText(path).Trim();
            if (kept.Length > 0)
            {
                console.WriteLine($"Guest accounts root and demo of every VM: password as before (kept in {path})");
                return kept;
            }
        }

        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(9)).Replace('/', 'x').Replace('+', 'y');
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(Encoding.UTF8.GetBytes(password + "\n"));
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, path, overwrite: true);
        console.WriteLine($"Guest accounts root and demo of every VM have the password: {password} (kept in {path})");
        return password;
    }
}
