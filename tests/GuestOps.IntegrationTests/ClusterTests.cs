using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Two GuestOps processes (role all) joined in one cluster through a store server of the test's own: a session started
/// at one is a session at the other, and a Logout at either ends it at both (at the other within a second). Run once
/// per kind of store: Redis (<see cref="RedisClusterTests"/>) and PostgreSQL (<see cref="PostgreSqlClusterTests"/>).
/// </summary>
public abstract class ClusterTests : IntegrationTest
{
    /// <summary>Starts the test's own membership and grain store.</summary>
    protected abstract Task<IClusterStoreServer> StartStoreAsync();

    [TestMethod]
    [Timeout(300_000)]
    public async Task SessionCookie_FromOneMember_WorksAtTheOther_AndLogoutEndsItEverywhere()
    {
        await using var store = await StartStoreAsync();
        // Both at once: the first start on an empty store makes what the store needs once.
        var starting = new[] { StartMemberAsync(store, "a-vm", "esx-a"), StartMemberAsync(store, "b-vm", "esx-b") };
        try
        {
            await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }

            throw;
        }

        await using var a = starting[0].Result;
        await using var b = starting[1].Result;

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

        // A keeps a copy of the sessions it serves and checks it with the session's grain once a second
        // (GrainSessionTable.RecheckAfter): a Logout at B is refused at B at once, and at A for every call that starts
        // more than that after the Logout answered. A has just checked its copy: the window is exercised whole.
        (await atA.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertOk("CurrentTime");
        (await atB.CallAsync("Logout", Moref.SessionManager)).AssertOk("Logout");
        var loggedOut = System.Diagnostics.Stopwatch.StartNew();
        (await atB.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertFault("NotAuthenticated", "RuntimeFaultFault");
        var recheckAfter = TimeSpan.FromSeconds(1);
        while (true)
        {
            var started = loggedOut.Elapsed;
            var atAAfterLogout = await atA.CallAsync("CurrentTime", Moref.ServiceInstance);
            if (atAAfterLogout.StatusCode != 200)
            {
                atAAfterLogout.AssertFault("NotAuthenticated", "RuntimeFaultFault");
                Console.WriteLine($"Logout at B: refused at A {loggedOut.Elapsed.TotalSeconds:0.00} s later (bound {recheckAfter.TotalSeconds:0} s)");
                break;
            }

            Assert.IsLessThan(recheckAfter, started, $"A answered a call that started {started.TotalSeconds:0.00} s after the Logout at B");
            await Task.Delay(50);
        }

        await AssertStillServingAsync(a);
        await AssertStillServingAsync(b);
    }

    [TestMethod]
    [Timeout(300_000)]
    public async Task SessionOutlivesTheMemberThatCreatedIt_KilledWithoutWarning()
    {
        await using var store = await StartStoreAsync();
        await using var a = await StartMemberAsync(store);
        await using var b = await StartMemberAsync(store);

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
    [DataRow("GUESTOPS_ROLE", "frontend", "GuestOps:Role (GUESTOPS_ROLE) 'frontend' needs GuestOps:Cluster (GUESTOPS_CLUSTER), the cluster's membership store, e.g. redis://127.0.0.1:6379 or a PostgreSQL connection string Host=127.0.0.1;Database=guestops;Username=guestops;Password=...")]
    [DataRow("GUESTOPS_TRANSFERS", "frontend", "GuestOps:Transfers (GUESTOPS_TRANSFERS) 'frontend' needs GuestOps:Cluster (GUESTOPS_CLUSTER): without a cluster this process serves every transfer itself.")]
    [DataRow("GUESTOPS_CLUSTER", "127.0.0.1:6379", "GuestOps:Cluster (GUESTOPS_CLUSTER) '127.0.0.1:6379' is neither redis://HOST:PORT nor a PostgreSQL connection string (Host=...;Database=...).")]
    public async Task BadClusterSetting_RefusesToStart_WithOneLineNamingIt(string variable, string value, string message)
    {
        var line = await RefusedStartAsync(variable, value);
        Assert.AreEqual($"GuestOps cannot start: {message}", line);
    }

    /// <summary>Starts the server with one setting, expects it to refuse (exit code 2, no stack trace), and returns the
    /// first line of its stderr.</summary>
    protected static async Task<string> RefusedStartAsync(string variable, string value)
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
            Assert.DoesNotContain("   at ", run.StandardError, "no stack trace");
            return run.StandardError.Split('\n')[0].TrimEnd('\r');
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>A member of the cluster: role all, no guest agent (sessions need none), its own state directory and
    /// free port (ServerProcess's), GUESTOPS_CLUSTER naming the test's store, its host name and demo VMs named.</summary>
    protected static Task<ServerProcess> StartMemberAsync(IClusterStoreServer store, string demoVms = "demo-vm-1", string? hostName = null) => ServerProcess.StartAsync(new ServerOptions
    {
        Environment = new Dictionary<string, string>
        {
            ["GUESTOPS_CLUSTER"] = store.ClusterSetting,
            ["GUESTOPS_PROVIDER"] = "none",
            ["GUESTOPS_DEMO_VMS"] = demoVms,
            ["GUESTOPS_HOST_NAME"] = hostName ?? $"esx-{Guid.NewGuid():N}"[..12],
        },
    });
}

/// <summary><see cref="ClusterTests"/> with a redis-server as the store.</summary>
[TestClass]
public sealed class RedisClusterTests : ClusterTests
{
    protected override async Task<IClusterStoreServer> StartStoreAsync() => await RedisServer.StartAsync();
}

/// <summary><see cref="ClusterTests"/> with a PostgreSQL server as the store (its tables made by the members that
/// join), and the PostgreSQL store's own refusals.</summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PostgreSqlClusterTests : ClusterTests
{
    protected override async Task<IClusterStoreServer> StartStoreAsync() => await PostgresServer.StartAsync();

    /// <summary>The advisory lock a member holds while it makes the tables (PostgreSqlSchema's, "GuestOps" in ASCII).</summary>
    private const long SchemaLockKey = 0x47_75_65_73_74_4F_70_73;

    [TestMethod]
    [Timeout(300_000)]
    public async Task MembersMakingTheTables_TakeTurnsOnTheAdvisoryLock()
    {
        await using var postgres = await PostgresServer.StartAsync();
        async Task<string> AdvisoryLocksAsync(bool granted) =>
            await postgres.SqlAsync(PostgresServer.Database, $"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND {(granted ? "" : "NOT ")}granted");
        async Task WaitForAsync(Func<Task<bool>> condition, string what)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!await condition())
            {
                Assert.IsLessThan(TimeSpan.FromSeconds(120), clock.Elapsed, $"waited in vain for {what}");
                await Task.Delay(100);
            }
        }

        // Another member in the middle of making the tables: a session holding the lock.
        using var holder = BackgroundProcess.Start(
            Path.Combine(PostgresServer.BinDirectory, "psql"),
            [.. postgres.PsqlArguments(PostgresServer.Database), "-c", $"SELECT pg_advisory_lock({SchemaLockKey})", "-c", "SELECT pg_sleep(600)"],
            postgres.Directory);
        await WaitForAsync(async () => await AdvisoryLocksAsync(granted: true) == "1", "the holder's lock");

        var starting = StartMemberAsync(postgres);
        try
        {
            await WaitForAsync(async () => starting.IsCompleted || await AdvisoryLocksAsync(granted: false) == "1", "the member to wait for the lock");
            Assert.IsFalse(starting.IsCompleted, "the member started without waiting for the lock");
        }
        finally
        {
            // The holder's turn ends: its session is ended (a sleeping backend would not see psql go).
            await postgres.SqlAsync(PostgresServer.Database, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted");
        }

        await using var member = await starting;
        using var client = NewClient(member);
        await client.LoginOkAsync();
        Assert.AreEqual("1", await postgres.SqlAsync(PostgresServer.Database, "SELECT version FROM guestops_schema"), "the tables made once the lock was free");
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task UnreachableDatabase_RefusesToStart_WithOneLineNamingIt_InBoundedTime()
    {
        var port = LoopbackPort.Free();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var line = await RefusedStartAsync("GUESTOPS_CLUSTER", $"Host=127.0.0.1;Port={port};Database=guestops;Username=guestops;Password=secret");
        Assert.StartsWith($"GuestOps cannot start: GuestOps:Cluster (GUESTOPS_CLUSTER): cannot connect to the PostgreSQL database 'guestops' at 127.0.0.1:{port}: ", line);
        Assert.DoesNotContain("secret", line, "never the password");
        Assert.IsLessThan(TimeSpan.FromSeconds(90), clock.Elapsed, "refused within the connect timeout, not after a hang");
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task UserWithoutCreatePrivilege_RefusesToStart_NamingTheTablesItCannotMake()
    {
        await using var postgres = await PostgresServer.StartAsync();
        // PostgreSQL 15 grants no CREATE on schema public to other users.
        await postgres.SqlAsync(PostgresServer.Database, "CREATE ROLE reader LOGIN");
        var line = await RefusedStartAsync("GUESTOPS_CLUSTER", postgres.ConnectionString("reader"));
        Assert.StartsWith($"GuestOps cannot start: GuestOps:Cluster (GUESTOPS_CLUSTER): cannot make the cluster's tables in the PostgreSQL database 'guestops' at 127.0.0.1:{postgres.Port}: 42501: permission denied for schema public", line);
    }
}
