using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Two GuestOps processes (role all) joined in one cluster through a redis-server of the test's own: a session started
/// at one is a session at the other, and a Logout at either ends it at both.
/// </summary>
[TestClass]
public sealed class ClusterTests : IntegrationTest
{
    [TestMethod]
    [Timeout(300_000)]
    public async Task SessionCookie_FromOneMember_WorksAtTheOther_AndLogoutEndsItEverywhere()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartMemberAsync(redis, "a-vm", "esx-a");
        await using var b = await StartMemberAsync(redis, "b-vm", "esx-b");

        using var atA = NewClient(a);
        var key = await atA.LoginOkAsync();
        (await atA.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertOk("CurrentTime");

        // B never saw this Login: the cookie alone makes the calls there.
        using var atB = NewClient(b);
        atB.Cookie = atA.Cookie;
        (await atB.CallAsync("RetrieveServiceContent", Moref.ServiceInstance)).AssertOk("RetrieveServiceContent");
        var managers = await atB.PostAsync(Soap.RetrievePropertiesEx(Moref.GuestOperationsManager, null, "fileManager"), "guest operations managers at B");
        Assert.AreEqual("guestOperationsFileManager", managers.ReturnValues("RetrievePropertiesEx").Single().Descendants(Soap.Vim + "val").Single().Value, managers.ToString());
        var current = await atB.CallAsync("CurrentTime", Moref.ServiceInstance);
        current.AssertOk("CurrentTime");
        // Each member serves its own VMs (GUESTOPS_DEMO_VMS in place of the configured ones).
        async Task<int> FoundAsync(string path) =>
            (await atB.CallAsync("FindByInventoryPath", Moref.SearchIndex, Soap.Element("inventoryPath", path))).ReturnValues("FindByInventoryPath").Count;
        Assert.AreEqual(1, await FoundAsync("ha-datacenter/vm/b-vm"), "B's demo VM");
        // Role all: each member is a host agent too, and lists the other's VMs once its poll has found them.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await FoundAsync("ha-datacenter/vm/a-vm") == 0 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(500);
        }

        Assert.AreEqual(1, await FoundAsync("ha-datacenter/vm/a-vm"), "A's demo VM, at B");
        Assert.AreEqual(0, await FoundAsync("ha-datacenter/vm/demo-vm-1"), "GUESTOPS_DEMO_VMS replaces the configured VMs");

        var active = await atB.CallAsync("SessionIsActive", Moref.SessionManager, Soap.Element("sessionID", key) + Soap.Element("userName", "root"));
        Assert.AreEqual("true", active.ReturnValues("SessionIsActive").Single().Value, "A's session is active at B");

        (await atB.CallAsync("Logout", Moref.SessionManager)).AssertOk("Logout");
        (await atA.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertFault("NotAuthenticated", "RuntimeFaultFault");
        (await atB.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertFault("NotAuthenticated", "RuntimeFaultFault");

        await AssertStillServingAsync(a);
        await AssertStillServingAsync(b);
    }

    [TestMethod]
    [Timeout(300_000)]
    public async Task SessionOutlivesTheMemberThatCreatedIt_KilledWithoutWarning()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartMemberAsync(redis);
        await using var b = await StartMemberAsync(redis);

        using var atA = NewClient(a);
        await atA.LoginOkAsync();
        (await atA.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertOk("CurrentTime");

        // The session's grain lives at A (activated where it was first called). SIGKILL: A cannot hand anything over;
        // the grain is activated again at B from the store once the cluster has declared A dead; until then a call
        // may time out, so the client retries, bounded.
        await a.StopAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var atB = NewClient(b, TimeSpan.FromSeconds(45));
        atB.Cookie = atA.Cookie;
        SoapResponse? last = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(150))
        {
            try
            {
                last = await atB.CallAsync("CurrentTime", Moref.ServiceInstance);
                // An answer either way ends the wait: the session (200) or its loss (NotAuthenticated).
                if (last.StatusCode == 200 || last.Body.Contains("NotAuthenticated", StringComparison.Ordinal))
                {
                    break;
                }
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        Console.WriteLine($"Member A killed: its session answered at B after {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.IsNotNull(last, "no answer at B");
        last.AssertOk("CurrentTime");
        (await atB.CallAsync("Logout", Moref.SessionManager)).AssertOk("Logout");

        // Until A is declared dead, B's calls to the session's grain fail (SystemError, logged as internal errors
        // by B): B is checked for serving, not for a clean log.
        Assert.IsFalse(b.HasExited, b.AllOutput);
        (await atB.CallAsync("RetrieveServiceContent", Moref.ServiceInstance)).AssertOk("RetrieveServiceContent");
    }

    [TestMethod]
    [Timeout(180_000)]
    [DataRow("GUESTOPS_ROLE", "frontend", "GuestOps:Role (GUESTOPS_ROLE) 'frontend' needs GuestOps:Cluster (GUESTOPS_CLUSTER), the cluster's membership store, e.g. redis://127.0.0.1:6379.")]
    [DataRow("GUESTOPS_CLUSTER", "127.0.0.1:6379", "GuestOps:Cluster (GUESTOPS_CLUSTER) '127.0.0.1:6379' is neither redis://HOST:PORT nor a PostgreSQL connection string (Host=...;Database=...).")]
    public async Task BadClusterSetting_RefusesToStart_WithOneLineNamingIt(string variable, string value, string message)
    {
        var state = Directory.CreateTempSubdirectory("guestops-it-cluster-").FullName;
        try
        {
            var run = await ProcessRunner.RunAsync(
                Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet",
                [RepositoryLayout.ServerDll],
                TimeSpan.FromSeconds(120),
                state,
                new Dictionary<string, string> { ["GUESTOPS_STATE_DIR"] = state, ["GUESTOPS_URLS"] = "https://127.0.0.1:0", ["GUESTOPS_PROVIDER"] = "none", [variable] = value });
            Assert.AreEqual(2, run.ExitCode, run.ToString());
            Assert.AreEqual($"GuestOps cannot start: {message}", run.StandardError.Split('\n')[0].TrimEnd('\r'), run.ToString());
            Assert.DoesNotContain("   at ", run.StandardError, "no stack trace");
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>A member of the cluster: role all, no guest agent (sessions need none), its own state directory and
    /// free port (ServerProcess's), GUESTOPS_CLUSTER naming the test's redis-server, its host name and demo VMs named.</summary>
    private static Task<ServerProcess> StartMemberAsync(RedisServer redis, string demoVms = "demo-vm-1", string? hostName = null) => ServerProcess.StartAsync(new ServerOptions
    {
        Environment = new Dictionary<string, string>
        {
            ["GUESTOPS_CLUSTER"] = redis.ClusterSetting,
            ["GUESTOPS_PROVIDER"] = "none",
            ["GUESTOPS_DEMO_VMS"] = demoVms,
            ["GUESTOPS_HOST_NAME"] = hostName ?? $"esx-{Guid.NewGuid():N}"[..12],
        },
    });
}
