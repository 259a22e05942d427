using System.Security.Cryptography;
using GuestOps.Server.Authorization;

namespace GuestOps.Server;

/// <summary>
/// The vSphere user <c>root</c>, Admin on the root folder, as on ESXi. It is created the first time a state directory
/// is used — by the server or by an admin command, whichever comes first — with <c>GuestOps:RootPassword</c> or a
/// random password printed once on the console (never logged). A state directory that already has users is left alone,
/// so a removed root stays removed.
/// </summary>
internal static class RootAccount
{
    public const string Name = "root";

    public static void EnsureCreated(AccessControl access, string? configuredPassword, TextWriter console)
    {
        if (!access.Users.IsEmpty)
        {
            return;
        }

        var password = configuredPassword;
        if (string.IsNullOrEmpty(password))
        {
            password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('/', 'x').Replace('+', 'y');
            console.WriteLine($"Created vSphere user '{Name}' with password: {password}");
        }

        access.Users.Set(Name, "Administrator", password);
        if (!access.HasAnyPermission(Name))
        {
            // The first user of a new server administers it (ESXi: root holds Admin on the root folder).
            access.Store.SetPermissions(AuthorizationStore.RootFolder, [AuthorizationStore.AdminOnRoot(Name).ToPermission()]);
        }
    }
}
