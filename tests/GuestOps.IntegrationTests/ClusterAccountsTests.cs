using System.Diagnostics;
using System.Net;
using System.Net.Security;
using GuestOps.Client;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Users, roles and permissions, and sessions, belong to the cluster, not to a member's state directory: a cluster of
/// separate processes through a redis-server of the test's own (a host agent, two front ends, each its own state
/// directory). A user and a custom role with a permission created through front end A log in and are authorized at
/// front end B (a privilege the role lacks is refused there); the user's session survives SIGKILL of A at B; and after
/// every member is stopped, a front end with an empty state directory still knows them (persisted in the store).
/// </summary>
[TestClass]
public sealed class ClusterAccountsTests : IntegrationTest
{
    private const string GuestPassword = "Cluster-Guest-Pa55!";
    private const string OperatorPassword = "Operator-Pa55!";

    [TestMethod]
    [Timeout(600_000)]
    public async Task UsersRolesAndSessions_CreatedAtOneFrontEnd_WorkAtAnother_AndSurviveEveryMembersRestart()
    {
        GuestSspi.UseDnsFreeKerberosConfiguration();
        await using var redis = await RedisServer.StartAsync();
        var hostState = Directory.CreateTempSubdirectory("guestops-it-accounts-host-").FullName;
        try
        {
            var host = await StartAsync(redis, "hostagent", hostState, "esx-a", "a-vm-1");
            var frontA = await StartAsync(redis, "frontend");
            var frontB = await StartAsync(redis, "frontend");
            try
            {
                // Through A, as root: a user, a role that may only query guests, and that role for the user everywhere.
                await using (var root = await ConnectAsync(frontA, "root", ServerOptions.DefaultRootPassword))
                {
                    await WaitForVmAsync(root, "a-vm-1");
                    await root.Port.CreateUserAsync(root.Content.accountManager!, new HostAccountSpec { id = "operator1", password = OperatorPassword, description = "Operator" });
                    var role = await root.Port.AddAuthorizationRoleAsync(root.Content.authorizationManager!, "guest-queriers", ["VirtualMachine.GuestOperations.Query"]);
                    await root.Port.SetEntityPermissionsAsync(root.Content.authorizationManager!, root.Content.rootFolder!, [new Permission { principal = "operator1", group = false, roleId = role, propagate = true }]);
                }

                // At B: the user logs in once B's copy has the change, and holds the role's privileges, no more.
                var clock = Stopwatch.StartNew();
                await using (var atB = await LoginEventuallyAsync(frontB, "operator1", OperatorPassword, TimeSpan.FromSeconds(10)))
                {
                    Console.WriteLine($"A user and a permission created at front end A: logged in at front end B after {clock.Elapsed.TotalSeconds:0.00} s (each try a connect and a PBKDF2 login)");
                    await ListFilesAsync(atB, "a-vm-1");
                    var (managers, vm) = (await atB.GuestManagersAsync(), await atB.FindVirtualMachineAsync("a-vm-1"));
                    var refused = await TypedGuestClient.AssertFaultAsync<NoPermission>(() => atB.Port.MakeDirectoryInGuestAsync(managers.FileManager, vm!, TypedGuestClient.Auth("root", GuestPassword), "/tmp/not-allowed", false));
                    Assert.AreEqual("VirtualMachine.GuestOperations.Modify", refused.privilegeId, "the custom role, as created at A, decides at B");
                }

                // SSPI: a ticket acquired through A is used and released through B, and then refused there.
                var vmId = await VmIdAsync(frontA, "a-vm-1");
                await using (var typedA = await TypedGuestClient.ConnectAsync(frontA, vmId))
                await using (var typedB = await TypedGuestClient.ConnectAsync(frontB, vmId, login: false, sessionCookie: typedA.Connection.SessionCookie))
                using (var context = new NegotiateAuthentication(new NegotiateAuthenticationClientOptions
                {
                    Package = "NTLM",
                    Credential = new NetworkCredential("demo", GuestPassword, "A-VM-1"),
                    TargetName = "host/a-vm-1",
                }))
                {
                    var logon = await GuestSspi.LogonAsync(typedA, vmId, context);
                    var ticketAtB = GuestSspi.Ticketed(typedB, vmId, logon.Ticket);
                    (await ticketAtB.ValidateCredentials()).AssertOk();
                    (await ticketAtB.ListFiles("/tmp")).AssertOk();
                    (await ticketAtB.ReleaseCredentials()).AssertOk();
                    (await ticketAtB.ListFiles("/tmp")).AssertFault("InvalidGuestLogin");
                    (await GuestSspi.Ticketed(typedA, vmId, logon.Ticket).ValidateCredentials()).AssertFault("InvalidGuestLogin");
                }

                // The user's session at A, then A killed without warning: the same cookie works at B for a guest call.
                string cookie;
                await using (var atA = await ConnectAsync(frontA, "operator1", OperatorPassword))
                {
                    await ListFilesAsync(atA, "a-vm-1");
                    cookie = atA.SessionCookie ?? throw new AssertFailedException("no session cookie from A");
                }

                await frontA.StopAsync();
                clock.Restart();
                var resumed = await ListFilesWithCookieEventuallyAsync(frontB, cookie, "a-vm-1", TimeSpan.FromSeconds(150));
                Console.WriteLine($"Front end A killed (SIGKILL) in the middle of a client's work: the same session answered a guest call at front end B after {clock.Elapsed.TotalSeconds:0.0} s");
                Assert.IsNotNull(resumed, "the session of the killed front end at B");

                // Every member stopped; then a host agent and a new front end with an empty state directory.
                await frontB.DisposeAsync();
                await host.DisposeAsync();
                host = await StartAsync(redis, "hostagent", hostState, "esx-a", "a-vm-1");
                frontB = await StartAsync(redis, "frontend", demoGuestPassword: false);
                await using (var again = await ConnectAsync(frontB, "operator1", OperatorPassword))
                {
                    await WaitForVmAsync(again, "a-vm-1");
                    await ListFilesAsync(again, "a-vm-1");
                }

                Assert.IsFalse(File.Exists(Path.Combine(frontB.StateDirectory, "guest-password")), "a front end runs no VMs: it makes no demo guest password");
                Assert.DoesNotContain("Guest accounts root and demo", frontB.StandardOutput);
                var usersFile = Path.Combine(frontB.StateDirectory, "users.json");
                Assert.IsFalse(File.Exists(usersFile) && File.ReadAllText(usersFile).Contains("operator1", StringComparison.Ordinal), "the new front end knows the user from the cluster, not from its state directory");
            }
            finally
            {
                await frontB.DisposeAsync();
                await frontA.DisposeAsync();
                await host.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(hostState, recursive: true);
        }
    }

    private static Task<ServerProcess> StartAsync(RedisServer redis, string role, string? stateDirectory = null, string? hostName = null, string? demoVms = null, bool demoGuestPassword = true)
    {
        var environment = new Dictionary<string, string>
        {
            ["GUESTOPS_CLUSTER"] = redis.ClusterSetting,
            ["GUESTOPS_ROLE"] = role,
        };
        if (demoGuestPassword)
        {
            environment["GUESTOPS_DEMO_GUEST_PASSWORD"] = GuestPassword;
        }

        if (hostName is not null)
        {
            environment["GUESTOPS_HOST_NAME"] = hostName;
        }

        if (demoVms is not null)
        {
            environment["GUESTOPS_DEMO_VMS"] = demoVms;
        }

        return ServerProcess.StartAsync(new ServerOptions { Environment = environment, StateDirectory = stateDirectory });
    }

    private static async Task<VimConnection> ConnectAsync(ServerProcess server, string user, string password, string? cookie = null)
    {
        var connection = await VimConnection.ConnectAsync(server.SdkUri, new VimConnectionOptions { AcceptAnyServerCertificate = true, SessionCookie = cookie, Timeout = TimeSpan.FromSeconds(30) });
        try
        {
            if (cookie is null)
            {
                await connection.LoginAsync(user, password);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Logs in until the member's copy of the users and permissions lets the user in (NoPermission or
    /// InvalidLogin before).</summary>
    private static async Task<VimConnection> LoginEventuallyAsync(ServerProcess server, string user, string password, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await ConnectAsync(server, user, password);
            }
            catch (Exception e) when (VimFaults.Detail(e) is InvalidLogin or NoPermission && clock.Elapsed < timeout)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }
        }
    }

    private static async Task<string> VmIdAsync(ServerProcess server, string name)
    {
        await using var connection = await ConnectAsync(server, "root", ServerOptions.DefaultRootPassword);
        return (await connection.FindVirtualMachineAsync(name) ?? throw new AssertFailedException($"{name} is not listed")).Value;
    }

    private static async Task WaitForVmAsync(VimConnection connection, string name)
    {
        var clock = Stopwatch.StartNew();
        while (await connection.FindVirtualMachineAsync(name) is null)
        {
            Assert.IsLessThan(90.0, clock.Elapsed.TotalSeconds, $"{name} is not listed");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    private static async Task ListFilesAsync(VimConnection connection, string vmName)
    {
        var vm = await connection.FindVirtualMachineAsync(vmName) ?? throw new AssertFailedException($"{vmName} is not listed");
        var listed = await connection.Port.ListFilesInGuestAsync((await connection.GuestManagersAsync()).FileManager, vm, TypedGuestClient.Auth("root", GuestPassword), "/", null, null, null);
        CollectionAssert.Contains(listed.files!.Select(f => f.path).ToArray(), "tmp");
    }

    /// <summary>A guest call at <paramref name="server"/> with another front end's session cookie, again until it
    /// answers: until the cluster has declared the killed member dead, a call to the session's grain may fail.</summary>
    private static async Task<string?> ListFilesWithCookieEventuallyAsync(ServerProcess server, string cookie, string vmName, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                await using var connection = await ConnectAsync(server, "", "", cookie);
                Assert.AreEqual("operator1", (await connection.CurrentSessionAsync())?.userName, "the session is the one logged in at A");
                await ListFilesAsync(connection, vmName);
                return cookie;
            }
            catch (Exception e) when (e is not AssertFailedException)
            {
                last = e;
                if (VimFaults.Detail(e) is NotAuthenticated)
                {
                    throw new AssertFailedException("the session was lost with its front end", e);
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        throw new AssertFailedException($"no answer at B within {timeout.TotalSeconds} s: {last}");
    }
}
