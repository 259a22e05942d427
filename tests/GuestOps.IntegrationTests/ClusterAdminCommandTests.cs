using System.Diagnostics;
using GuestOps.Client;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The account admin commands (<c>GuestOps.Server user|group|role|permission</c>) with <c>GUESTOPS_CLUSTER</c> set change
/// the running cluster's accounts, not the files of the state directory they run with: a user and its permission made
/// by the commands (run with a state directory of their own) log in at a running front end, and the user removed by
/// them can no longer log in there. Without a running member the commands say so and change nothing.
/// </summary>
[TestClass]
public sealed class ClusterAdminCommandTests : IntegrationTest
{
    private const string Password = "Admin-Made-Pa55!";

    [TestMethod]
    [Timeout(300_000)]
    public async Task AccountCommands_WithAClusterSet_ChangeTheRunningClustersAccounts()
    {
        await using var redis = await RedisServer.StartAsync();
        var adminState = Directory.CreateTempSubdirectory("guestops-it-admin-").FullName;
        try
        {
            var environment = new Dictionary<string, string>
            {
                ["GUESTOPS_CLUSTER"] = redis.ClusterSetting,
                ["GUESTOPS_STATE_DIR"] = adminState,
                ["GUESTOPS_ROOT_PASSWORD"] = ServerOptions.DefaultRootPassword,
            };

            var early = await AdminAsync(["user", "list"], environment);
            Assert.AreEqual(2, early.ExitCode, $"no member runs yet{Environment.NewLine}{early}");
            StringAssert.Contains(early.StandardError, "No member of the cluster");
            Assert.IsFalse(early.StandardError.Contains("   at ", StringComparison.Ordinal), $"one line, no stack trace{Environment.NewLine}{early}");

            await using var frontEnd = await ServerProcess.StartAsync(new ServerOptions
            {
                Environment = new Dictionary<string, string> { ["GUESTOPS_CLUSTER"] = redis.ClusterSetting, ["GUESTOPS_ROLE"] = "frontend" },
            });

            var clock = Stopwatch.StartNew();
            foreach (var command in new[]
            {
                new[] { "user", "add", "opsadmin", "--password", Password },
                ["permission", "set", "--principal", "opsadmin", "--role", "ReadOnly", "--entity", "root"],
            })
            {
                var run = await AdminAsync(command, environment);
                Assert.AreEqual(0, run.ExitCode, run.ToString());
            }

            Console.WriteLine($"user add + permission set against the running cluster: {clock.Elapsed.TotalSeconds:0.0} s (two processes, each an Orleans client)");
            var listed = await AdminAsync(["user", "list"], environment);
            StringAssert.Contains(listed.StandardOutput, "opsadmin", "the cluster's users are listed");

            clock.Restart();
            await using (var connection = await LoginEventuallyAsync(frontEnd, "opsadmin", Password, expectIn: true) ?? throw new AssertFailedException("no session"))
            {
                Assert.AreEqual("opsadmin", (await connection.CurrentSessionAsync())?.userName);
            }

            Console.WriteLine($"The user logged in at the front end {clock.Elapsed.TotalSeconds:0.00} s after the commands");
            var usersFile = Path.Combine(adminState, "users.json");
            Assert.IsFalse(File.Exists(usersFile) && File.ReadAllText(usersFile).Contains("opsadmin", StringComparison.Ordinal), "the user is the cluster's, not the state directory's");

            var removed = await AdminAsync(["user", "remove", "opsadmin"], environment);
            Assert.AreEqual(0, removed.ExitCode, removed.ToString());
            await LoginEventuallyAsync(frontEnd, "opsadmin", Password, expectIn: false);
        }
        finally
        {
            Directory.Delete(adminState, recursive: true);
        }
    }

    private static Task<ProcessResult> AdminAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment) =>
        ProcessRunner.RunAsync("dotnet", [RepositoryLayout.ServerDll, .. arguments], TimeSpan.FromSeconds(90), environment: environment);

    /// <summary>Logs in until the front end's copy of the accounts agrees with <paramref name="expectIn"/>: the
    /// session when it lets the user in, null once it refuses with InvalidLogin.</summary>
    private static async Task<VimConnection?> LoginEventuallyAsync(ServerProcess server, string user, string password, bool expectIn)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var connection = await VimConnection.ConnectAsync(server.SdkUri, new VimConnectionOptions { AcceptAnyServerCertificate = true, Timeout = TimeSpan.FromSeconds(30) });
            try
            {
                await connection.LoginAsync(user, password);
                if (expectIn)
                {
                    return connection;
                }
            }
            catch (Exception e) when (VimFaults.Detail(e) is InvalidLogin or NoPermission)
            {
                if (!expectIn)
                {
                    await connection.DisposeAsync();
                    return null;
                }
            }

            await connection.DisposeAsync();
            Assert.IsLessThan(10.0, clock.Elapsed.TotalSeconds, $"the front end still {(expectIn ? "refuses" : "lets in")} {user}");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }
}
