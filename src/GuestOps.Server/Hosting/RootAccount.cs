using System.Security.Cryptography;
using GuestOps.Host.Authorization;
using GuestOps.Host.Sessions;

namespace GuestOps.Server.Hosting;

/// <summary>
/// The vSphere user <c>root</c>, Admin on the root folder, as on ESXi. It is created the first time a state directory
/// is used — by the server or by an admin command, whichever comes first — with <c>GuestOps:RootPassword</c> or a
/// random password printed once on the console (never logged). A state directory that already has users is left alone,
/// so a removed root stays removed.
/// </summary>
internal static class RootAccount
{
    public const string Name = "root";

    /// <summary>Opens the roles and permissions of a state directory; a file that cannot be read is a setting to fix.</summary>
    public static AuthorizationStore OpenStore(string stateDirectory, UserStore users)
    {
        try
        {
            return new AuthorizationStore(stateDirectory, users);
        }
        catch (AuthorizationFileException e)
        {
            throw new GuestOpsConfigurationException(e.Message, e.InnerException);
        }
    }

    /// <summary>Creates root when there is no user yet. Runs once at start-up, before any call is served: it waits
    /// for the permission service's answers.</summary>
    public static void EnsureCreated(UserStore users, IPermissionService permissions, string? configuredPassword, TextWriter console)
    {
        if (!users.IsEmpty)
        {
            return;
        }

        var password = configuredPassword;
        if (string.IsNullOrEmpty(password))
        {
            password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('/', 'x').Replace('+', 'y');
            console.WriteLine($"Created vSphere user '{Name}' with password: {password}");
        }

        users.Set(Name, "Administrator", password);
        if (!permissions.MayLogInAsync(Name).AsTask().GetAwaiter().GetResult())
        {
            // The first user of a new server administers it (ESXi: root holds Admin on the root folder).
            permissions.SetPermissionsAsync([AuthorizationStore.AdminOnRoot(Name).ToEntry()]).AsTask().GetAwaiter().GetResult();
        }
    }
}
