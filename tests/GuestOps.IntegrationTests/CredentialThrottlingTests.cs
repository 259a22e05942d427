using System.Diagnostics;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Brute force against credentials (issue 9), through the real server and sandboxed guests: the vSphere Login lockout
/// (5 failures of a user from a client lock its logins for GuestOps:LoginLockoutTime, the right password included, with
/// the same InvalidLogin answer), and the worker's guest-login throttle (failed guest logins of one user in one VM space
/// that user's further attempts in that VM; other users and other VMs are not slowed).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CredentialThrottlingTests : IntegrationTest
{
    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        _server = await GuestServer.StartAsync(arguments: ["--GuestOps:LoginLockoutTime=00:00:03"]);
    }

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private static GuestServer Server => _server ?? throw new AssertFailedException("The guest server did not start.");

    [TestMethod]
    [Timeout(60_000)]
    public async Task VsphereLogin_FiveFailuresLockTheUser_EvenTheRightPasswordIsRefused_UntilTheLockoutEnds()
    {
        var server = Server.Server;
        const string Wrong = "Brute-Force-Guess-0042";

        // A second real vSphere account (a local user with a permission on the root folder, so it may log in).
        const string Other = "throttle-other";
        const string OtherPassword = "Throttle-Other-Pa55!";
        using (var admin = NewClient(server))
        {
            await admin.LoginOkAsync();
            await Authorization.AuthorizationSoap.CreateUserAsync(admin, Other, OtherPassword, "CredentialThrottlingTests");
            var role = await Authorization.AuthorizationSoap.AddRoleAsync(admin, "throttle-guest-query", [GuestOps.Vim.Privileges.GuestOperationsQuery]);
            (await Authorization.AuthorizationSoap.SetPermissionsAsync(admin, Moref.RootFolder, Authorization.AuthorizationSoap.Permission(Other, role, propagate: true))).AssertOk("SetEntityPermissions");
        }

        using var client = NewClient(server);
        for (var i = 1; i <= 5; i++)
        {
            var failed = await client.LoginAsync("root", Wrong + i);
            failed.AssertFault("InvalidLogin", "InvalidLoginFault");
        }

        // Locked: the right password gets the same answer as a wrong one, and no cookie.
        var clock = Stopwatch.StartNew();
        var locked = await client.LoginAsync("root", server.RootPassword);
        locked.AssertFault("InvalidLogin", "InvalidLoginFault");
        Assert.IsNull(locked.SetCookie, "a locked-out login sets no cookie");
        TestContext.WriteLine($"locked-out login answered in {locked.Elapsed.TotalMilliseconds:0} ms");

        // Another real account from the same client is not locked: a wrong password of it is refused (one failure of
        // its own), its right password logs in.
        var otherWrong = await client.LoginAsync(Other, Wrong);
        otherWrong.AssertFault("InvalidLogin", "InvalidLoginFault");
        Assert.IsNull(otherWrong.SetCookie, "a wrong password sets no cookie");
        using (var other = NewClient(server))
        {
            (await other.LoginAsync(Other, OtherPassword)).AssertOk("Login");
        }

        // The lockout ends LoginLockoutTime (3 s) after the last failure.
        var unlocked = false;
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            var response = await client.LoginAsync("root", server.RootPassword);
            if (response.StatusCode == 200)
            {
                unlocked = true;
                break;
            }

            response.AssertFault("InvalidLogin", "InvalidLoginFault");
        }

        Assert.IsTrue(unlocked, "root could log in again after the lockout time");
        var output = server.AllOutput;
        StringAssert.Contains(output, "vSphere login of user 'root' from 127.0.0.1 locked out for 3 s after 5 failed attempts");
        Assert.IsFalse(output.Contains(Wrong, StringComparison.Ordinal), "no tried password is logged");
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task GuestLogin_FailuresOfOneUserInOneVm_SlowOnlyThatUserInThatVm()
    {
        await using var client = await ConnectAsync(Server.Server);
        var elapsed = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            var response = await new GuestOpsClient(client, "vm-1", "demo", "wrong-guess-" + i).ValidateCredentials();
            response.AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
            elapsed.Add(response.Elapsed.TotalMilliseconds);
        }

        TestContext.WriteLine($"failed guest logins of demo in vm-1, ms: {string.Join(", ", elapsed.Select(e => e.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}");

        // The worker spaces demo's attempts in vm-1 by 250 ms doubling per failure (up to 4 s): the 6th waited >= 2 s.
        Assert.IsTrue(elapsed[^1] >= 1900, $"the 6th failed attempt was throttled: {elapsed[^1]:0} ms");

        // Other users of the VM, and the same user in another VM, are not slowed.
        foreach (var (vm, user) in new[] { ("vm-1", "root"), ("vm-2", "demo") })
        {
            var ok = await new GuestOpsClient(client, vm, user, GuestServer.GuestPassword).ValidateCredentials();
            ok.AssertOk();
            Assert.IsTrue(ok.Elapsed < TimeSpan.FromSeconds(1.5), $"{user} in {vm} is not throttled: {ok.Elapsed.TotalMilliseconds:0} ms");
        }

        // demo in vm-1 with the right password still gets in (after its wait), which clears the record.
        var demo = new GuestOpsClient(client, "vm-1", "demo", GuestServer.GuestPassword);
        (await demo.ValidateCredentials()).AssertOk();
        var after = await demo.ValidateCredentials();
        after.AssertOk();
        Assert.IsTrue(after.Elapsed < TimeSpan.FromSeconds(1.5), $"a success clears the throttle: {after.Elapsed.TotalMilliseconds:0} ms");
    }
}
