using System.Diagnostics;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// A cluster of separate processes through a store server of the test's own: two front ends (role frontend, no VMs) and
/// two host agents (role hostagent, their own demo VMs). pyVmomi through front end A sees and drives the VMs of both host
/// agents; A's session works at front end B; a file goes in through a URL from A (naming the host agent) and comes back
/// through a URL from B; a host agent killed leaves its VMs listed, not ready, their calls failing at once with
/// HostNotConnected while the other host's VMs answer, and ready again after its restart. The inventory is vCenter's:
/// apiType VirtualCenter, a HostSystem per host agent, each VM's runtime.host naming its own.
/// The store restarted, with its data kept, is recovered from without restarting a member. Run once per kind of store:
/// Redis (<see cref="RedisClusterRolesTests"/>, which also streams transfers through a front end) and PostgreSQL
/// (<see cref="PostgreSqlClusterRolesTests"/>).
/// </summary>
public abstract class ClusterRolesTests : IntegrationTest
{
    protected const string GuestPassword = "Cluster-Guest-Pa55!";

    /// <summary>The file that crosses: 64 MiB, streamed by the host agent both ways.</summary>
    protected const int TransferMiB = 64;

    /// <summary>Starts the test's own membership and grain store; <paramref name="persisted"/>: keeping its data across
    /// its restarts, as a production store does.</summary>
    protected abstract Task<IClusterStoreServer> StartStoreAsync(bool persisted = false);

    [TestMethod]
    [Timeout(600_000)]
    public async Task FrontEndsAndHostAgents_AsSeparateProcesses_ServeEveryHostsVms_AndSurviveAHostAgentsLoss()
    {
        await using var store = await StartStoreAsync();
        var stateB = Directory.CreateTempSubdirectory("guestops-it-hostagent-b-").FullName;
        try
        {
            await using var hostA = await StartAsync(store, "hostagent", "esx-a", "a-vm-1,a-vm-2");
            var hostB = await StartAsync(store, "hostagent", "esx-b", "b-vm-1", stateB);
            await using var frontA = await StartAsync(store, "frontend");
            await using var frontB = await StartAsync(store, "frontend");
            try
            {
                // Both host agents' VMs, listed at both front ends once their polls have found them.
                await WaitForAsync(frontA, facts => facts.GetProperty("vms").EnumerateObject().Count() == 3, ["a-vm-1"], TimeSpan.FromSeconds(90));
                await WaitForAsync(frontB, facts => facts.GetProperty("vms").EnumerateObject().Count() == 3, ["a-vm-1"], TimeSpan.FromSeconds(90));

                using (var main = await RunPyVmomiAsync("pyvmomi_cluster.py", [.. Arguments(frontA, "main", ["a-vm-1", "b-vm-1"]), "--port-b", frontB.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--size-mib", TransferMiB.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(5)))
                {
                    var facts = main.Result.GetProperty("facts");
                    var vms = facts.GetProperty("vms");
                    CollectionAssert.AreEquivalent(new[] { "a-vm-1", "a-vm-2", "b-vm-1" }, vms.EnumerateObject().Select(p => p.Name).ToArray(), facts.ToString());
                    Assert.AreEqual(3, vms.EnumerateObject().Select(p => p.Value.GetProperty("id").GetString()).Distinct().Count(), "VM ids unique across the cluster");
                    Assert.AreEqual("VirtualCenter", facts.GetProperty("apiType").GetString());
                    foreach (var (vm, host) in new[] { ("a-vm-1", "esx-a"), ("a-vm-2", "esx-a"), ("b-vm-1", "esx-b") })
                    {
                        Assert.AreEqual(host, vms.GetProperty(vm).GetProperty("host").GetString(), $"{vm}'s runtime.host");
                    }

                    CollectionAssert.AreEqual(new[] { "esx-a", "esx-b" }, facts.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()).ToArray(), "a HostSystem per host agent");
                    foreach (var name in new[] { "a-vm-1", "b-vm-1" })
                    {
                        var guest = facts.GetProperty("guest").GetProperty(name);
                        Assert.IsTrue(guest.GetProperty("validated").GetBoolean(), name);
                        CollectionAssert.Contains(guest.GetProperty("listed").EnumerateArray().Select(e => e.GetString()).ToArray(), "tmp", name);
                        Assert.IsGreaterThan(0, guest.GetProperty("pid").GetInt64(), name);
                    }

                    Assert.AreEqual("root", facts.GetProperty("sessionAtB").GetString(), "A's session cookie at B");
                    AssertRoundTrip(facts, hostA.Port, "host agent esx-a");
                    TestContext.WriteLine($"{TransferMiB} MiB in through a URL from A and out through one from B: {main.Run.Elapsed.TotalSeconds:0.0} s for the whole pyVmomi run");
                }

                // Host agent esx-b killed without warning: its VM is still listed, not ready, and a call fails at once.
                await hostB.StopAsync();
                var clock = Stopwatch.StartNew();
                var lost = await WaitForAsync(frontA, facts => Probe(facts, "b-vm-1") is { Ready: false, Fault: "HostNotConnected" }, ["a-vm-1", "b-vm-1"], TimeSpan.FromSeconds(60));
                var timeToFault = clock.Elapsed;
                var failed = Probe(lost, "b-vm-1");
                Assert.IsLessThan(5.0, failed.Seconds, $"the call on a lost host's VM fails fast ({failed.Seconds:0.000} s)");
                Assert.AreEqual((true, (string?)null), (Probe(lost, "a-vm-1").Ready, Probe(lost, "a-vm-1").Fault), "the other host's VMs still answer");
                Assert.AreEqual(3, lost.GetProperty("vms").EnumerateObject().Count(), "the lost host's VM stays listed");

                // Restarted (same host name, same state directory): ready again, its VM under the same id.
                await hostB.DisposeAsync();
                clock.Restart();
                hostB = await StartAsync(store, "hostagent", "esx-b", "b-vm-1", stateB);
                var back = await WaitForAsync(frontA, facts => Probe(facts, "b-vm-1") is { Ready: true, Fault: null }, ["b-vm-1"], TimeSpan.FromSeconds(120));
                var timeToReady = clock.Elapsed;
                Console.WriteLine($"Host agent killed: its VM reported not ready with HostNotConnected after {timeToFault.TotalSeconds:0.0} s (the call {failed.Seconds:0.000} s); restarted: ready after {timeToReady.TotalSeconds:0.0} s (process start included)");
                Assert.IsTrue(back.GetProperty("vms").GetProperty("b-vm-1").GetProperty("guestOperationsReady").GetBoolean());
                Assert.AreEqual(lost.GetProperty("vms").GetProperty("b-vm-1").GetProperty("id").GetString(), back.GetProperty("vms").GetProperty("b-vm-1").GetProperty("id").GetString(), "the VM's id after its host agent's restart");

                foreach (var server in new[] { frontA, frontB })
                {
                    Assert.IsFalse(server.HasExited, server.AllOutput);
                }
            }
            finally
            {
                await hostB.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(stateB, recursive: true);
        }
    }

    /// <summary>
    /// The membership and grain store restarted as a service manager restarts a production one (redis-server: SIGTERM,
    /// its append-only file kept; PostgreSQL: fast shutdown): no member restarts, yet the session from before answers, a new login and a guest call on
    /// the host agent's VM work, and a host agent killed and restarted afterwards is found again by the front end (the
    /// membership table came back, so the engine declares the old member dead and admits the new one). Against a store
    /// (Redis) that comes back empty the last step fails: the members keep a newer view of the lost table than the one the
    /// restarted host agent writes, so they never see it.
    /// </summary>
    [TestMethod]
    [Timeout(600_000)]
    public async Task MembershipStoreRestarted_WithItsDataPersisted_TheClusterRecoversWithoutRestartingAMember()
    {
        await using var store = await StartStoreAsync(persisted: true);
        var stateA = Directory.CreateTempSubdirectory("guestops-it-hostagent-a-").FullName;
        try
        {
            var host = await StartAsync(store, "hostagent", "esx-a", "a-vm-1", stateA);
            try
            {
                await using var front = await StartAsync(store, "frontend");
                await WaitForAsync(front, facts => Probe(facts, "a-vm-1") is { Ready: true, Fault: null }, ["a-vm-1"], TimeSpan.FromSeconds(90));
                using var session = NewClient(front, TimeSpan.FromSeconds(30));
                await session.LoginOkAsync();
                (await session.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertOk("CurrentTime");

                var clock = Stopwatch.StartNew();
                await store.RestartAsync();
                var storeBack = clock.Elapsed;
                await WaitForSessionAsync(session, TimeSpan.FromSeconds(60));
                var sessionBack = clock.Elapsed;
                // A new login at the front end and ValidateCredentials in the host agent's VM.
                await WaitForAsync(front, facts => Probe(facts, "a-vm-1") is { Ready: true, Fault: null }, ["a-vm-1"], TimeSpan.FromSeconds(60));
                var recovered = clock.Elapsed;

                // The engine works on the restarted store: a member lost now is replaced by its restart.
                await host.StopAsync();
                await host.DisposeAsync();
                clock.Restart();
                host = await StartAsync(store, "hostagent", "esx-a", "a-vm-1", stateA);
                await WaitForAsync(front, facts => Probe(facts, "a-vm-1") is { Ready: true, Fault: null }, ["a-vm-1"], TimeSpan.FromSeconds(120));
                var hostBack = clock.Elapsed;
                await WaitForSessionAsync(session, TimeSpan.FromSeconds(60));
                Console.WriteLine($"Store restarted ({store.GetType().Name}, its data kept): it answered after {storeBack.TotalSeconds:0.0} s, the session from before after {sessionBack.TotalSeconds:0.0} s, a new login and a guest call after {recovered.TotalSeconds:0.0} s; a host agent restarted afterwards was ready again after {hostBack.TotalSeconds:0.0} s (process start included)");
                Assert.IsFalse(front.HasExited, front.AllOutput);
            }
            finally
            {
                await host.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(stateA, recursive: true);
        }
    }

    /// <summary>Calls CurrentTime with <paramref name="session"/>'s cookie until it answers, bounded: while the store or a
    /// member is away a call may fail or time out.</summary>
    private static async Task WaitForSessionAsync(SoapClient session, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < timeout)
        {
            try
            {
                var answer = await session.CallAsync("CurrentTime", Moref.ServiceInstance);
                if (answer.StatusCode == 200)
                {
                    return;
                }

                last = answer.Body;
            }
            catch (Exception e) when (e is TaskCanceledException or HttpRequestException)
            {
                last = e.Message;
            }

            await Task.Delay(500);
        }

        Assert.Fail($"The session did not answer within {timeout.TotalSeconds:0} s; last answer:{Environment.NewLine}{last}");
    }

    /// <summary>A member: its role, host name and demo VMs, its own state directory and free port (ServerProcess's).</summary>
    protected static Task<ServerProcess> StartAsync(IClusterStoreServer store, string role, string? hostName = null, string? demoVms = null, string? stateDirectory = null, string? transfers = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["GUESTOPS_CLUSTER"] = store.ClusterSetting,
            ["GUESTOPS_ROLE"] = role,
            ["GUESTOPS_DEMO_GUEST_PASSWORD"] = GuestPassword,
        };
        if (hostName is not null)
        {
            environment["GUESTOPS_HOST_NAME"] = hostName;
        }

        if (demoVms is not null)
        {
            environment["GUESTOPS_DEMO_VMS"] = demoVms;
        }

        if (transfers is not null)
        {
            environment["GUESTOPS_TRANSFERS"] = transfers;
        }

        return ServerProcess.StartAsync(new ServerOptions { Environment = environment, StateDirectory = stateDirectory });
    }

    protected static string[] Arguments(ServerProcess frontEnd, string phase, IEnumerable<string> vms) =>
    [
        "--phase", phase,
        "--port-a", frontEnd.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--password", ServerOptions.DefaultRootPassword,
        "--guest-user", "root",
        "--guest-password", GuestPassword,
        .. vms.SelectMany(vm => new[] { "--vm", vm }),
    ];

    /// <summary>Runs the probe phase at <paramref name="frontEnd"/> until <paramref name="done"/> holds for its facts.</summary>
    protected async Task<JsonElement> WaitForAsync(ServerProcess frontEnd, Func<JsonElement, bool> done, string[] vms, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < timeout)
        {
            var run = await ProcessRunner.RunAsync(PyVmomiRun.Python, [Path.Combine(AppContext.BaseDirectory, "python", "pyvmomi_cluster.py"), .. Arguments(frontEnd, "probe", vms)], TimeSpan.FromSeconds(60));
            var json = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
            if (json is not null)
            {
                using var document = JsonDocument.Parse(json);
                var facts = document.RootElement.GetProperty("facts");
                if (document.RootElement.GetProperty("errors").GetArrayLength() == 0 && facts.TryGetProperty("probe", out _) && vms.All(vm => facts.GetProperty("vms").TryGetProperty(vm, out _)) && done(facts))
                {
                    // The answers of the probe that ends the wait (a HostNotConnected fault among them) are schema-checked.
                    var index = 0;
                    foreach (var body in document.RootElement.GetProperty("responses").EnumerateArray())
                    {
                        Responses.Add(new RecordedResponse($"probe response #{++index}", 0, "text/xml", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(body.GetString()!)), ExpectSoap: true));
                    }

                    return facts.Clone();
                }

                last = json.Length > 4000 ? json[..4000] : json;
            }
            else
            {
                last = run.ToString();
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        Assert.Fail($"Not reached within {timeout.TotalSeconds:0} s at {frontEnd}; last probe:{Environment.NewLine}{last}");
        return default;
    }

    /// <summary>The file's round trip of a pyVmomi run: both URLs at <paramref name="port"/> (<paramref name="server"/>'s),
    /// both answered 200, the file back whole and byte-identical.</summary>
    protected static void AssertRoundTrip(JsonElement facts, int port, string server)
    {
        foreach (var url in new[] { "uploadUrl", "downloadUrl" })
        {
            var uri = new Uri(facts.GetProperty(url).GetString()!.Replace("://*:", "://127.0.0.1:", StringComparison.Ordinal));
            Assert.AreEqual(port, uri.Port, $"the {url} names {server}: {uri}");
        }

        Assert.AreEqual(200, facts.GetProperty("putStatus").GetInt32());
        Assert.AreEqual(200, facts.GetProperty("getStatus").GetInt32());
        Assert.AreEqual(TransferMiB * 1024L * 1024L, facts.GetProperty("receivedSize").GetInt64());
        Assert.AreEqual(facts.GetProperty("sentSha256").GetString(), facts.GetProperty("receivedSha256").GetString(), "byte-identical");
    }

    /// <summary>A line of /proc/PID/status in KiB (VmRSS: resident now; VmHWM: the peak since the last reset).</summary>
    protected static long ResidentKiB(int processId, string field) =>
        long.Parse(File.ReadLines($"/proc/{processId}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal))[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    protected static (bool Ready, string? Fault, double Seconds) Probe(JsonElement facts, string vm)
    {
        if (!facts.GetProperty("probe").TryGetProperty(vm, out var entry))
        {
            return (false, "not probed", 0);
        }

        var fault = entry.GetProperty("fault");
        return (entry.GetProperty("guestOperationsReady").GetBoolean(), fault.ValueKind == JsonValueKind.Null ? null : fault.GetProperty("wsdlName").GetString(), entry.GetProperty("seconds").GetDouble());
    }
}

/// <summary><see cref="ClusterRolesTests"/> with a redis-server as the store, and what is tested on Redis only: transfers
/// streamed through a front end.</summary>
[TestClass]
public sealed class RedisClusterRolesTests : ClusterRolesTests
{
    /// <summary>How much a front end that streams a transfer through may grow: well under the file's size.</summary>
    private const double MaxFrontEndGrowthMiB = 24;

    protected override async Task<IClusterStoreServer> StartStoreAsync(bool persisted = false) => await RedisServer.StartAsync(persisted);

    /// <summary>
    /// A front end that streams transfers through (GUESTOPS_TRANSFERS=frontend): the URLs InitiateFileTransfer* return
    /// name the front end the client called, which passes the bytes on to the host agent that runs the VM and back.
    /// 64 MiB go in and come back byte-identical, and the front end's peak resident memory grows by far less than the
    /// file (it streams, it does not hold the body).
    /// </summary>
    [TestMethod]
    [Timeout(600_000)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task TransfersThroughTheFrontEnd_StreamBothWays_WithoutHoldingTheFile()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var host = await StartAsync(redis, "hostagent", "esx-a", "a-vm-1");
        await using var front = await StartAsync(redis, "frontend", transfers: "frontend");
        await WaitForAsync(front, facts => Probe(facts, "a-vm-1") is { Ready: true, Fault: null }, ["a-vm-1"], TimeSpan.FromSeconds(90));

        // The peak resident set starts again from the current one (clear_refs 5), so VmHWM afterwards is the transfer's.
        var before = ResidentKiB(front.ProcessId, "VmRSS");
        await File.WriteAllTextAsync($"/proc/{front.ProcessId}/clear_refs", "5");
        using var run = await RunPyVmomiAsync("pyvmomi_cluster.py", [.. Arguments(front, "transfer", ["a-vm-1"]), "--size-mib", TransferMiB.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(5));
        var peak = ResidentKiB(front.ProcessId, "VmHWM");

        var facts = run.Result.GetProperty("facts");
        AssertRoundTrip(facts, front.Port, "the front end");
        var growthMiB = (peak - before) / 1024.0;
        Console.WriteLine($"{TransferMiB} MiB through the front end: up {facts.GetProperty("putSeconds").GetDouble():0.00} s, down {facts.GetProperty("getSeconds").GetDouble():0.00} s; the front end's resident memory {before / 1024.0:0.0} MiB before, peak {peak / 1024.0:0.0} MiB (+{growthMiB:0.0} MiB)");
        Assert.IsLessThan(MaxFrontEndGrowthMiB, growthMiB, $"the front end's peak resident memory grew by {growthMiB:0.0} MiB for a {TransferMiB} MiB file each way");
        Assert.IsFalse(front.HasExited, front.AllOutput);
    }
}

/// <summary><see cref="ClusterRolesTests"/> with a PostgreSQL server as the store (its tables made by the members that
/// join).</summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PostgreSqlClusterRolesTests : ClusterRolesTests
{
    /// <summary>PostgreSQL keeps its tables across restarts either way.</summary>
    protected override async Task<IClusterStoreServer> StartStoreAsync(bool persisted = false) => await PostgresServer.StartAsync();
}
