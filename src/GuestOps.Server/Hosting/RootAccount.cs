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

    /// <summary>Creates root when there is no user yet (in a cluster: no user in the cluster). Runs once at start-up,
    /// before any call is served. The password is printed only by the process whose root was created.</summary>
    public static async Task EnsureCreatedAsync(UserStore users, IPermissionService permissions, string? configuredPassword, TextWriter console, CancellationToken cancellationToken = default)
    {
        if (!users.IsEmpty)
        {
            return;
        }

        var password = configuredPassword;
        var made = string.IsNullOrEmpty(password);
        if (made)
        {
            password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('/', 'x').Replace('+', 'y');
        }

        if (!await users.CreateFirstAsync(Name, "Administrator", password!, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        if (made)
        {
            console.WriteLine($"Created vSphere user '{Name}' with password: {password}");
        }

        if (!await permissions.MayLogInAsync(Name, cancellationToken).ConfigureAwait(false))
        {
            // The first user of a new server administers it (ESXi: root holds Admin on the root folder).
            await permissions.SetPermissionsAsync([AuthorizationStore.AdminOnRoot(Name).ToEntry()], cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Creates root in a cluster's users (<see cref="RootAccount.EnsureCreatedAsync"/>) once this member has
/// joined the cluster and read them: registered after the cluster's services, so it starts after them.</summary>
internal sealed class ClusterRootAccount(UserStore users, IPermissionService permissions, string? configuredPassword) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        RootAccount.EnsureCreatedAsync(users, permissions, configuredPassword, Console.Out, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
