using System.Diagnostics;
using System.Globalization;
using System.ServiceModel;
using System.Text.Json;
using GuestOps.Client;
using GuestOps.Reliability.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.Reliability.Scale;

/// <summary>The cluster scale run's settings.</summary>
/// <param name="TotalVms">VMs of the whole cluster, spread evenly over the host agents; <paramref name="SandboxedVms"/>
/// of them run a sandboxed tools worker, <paramref name="EchoVms"/> have the echo provider, the rest no tools.</param>
/// <param name="SlopeCounts">VM counts of the memory runs (one host agent, one front end, VMs without tools); empty: none.</param>
/// <param name="Measure">False: the correctness check only (every VM found, paging returns each exactly once, every
/// ready VM answers, a VM without tools fails with GuestOperationsUnavailable): what the test suite runs.</param>
internal sealed record ClusterScaleOptions(
    int HostAgents, int FrontEnds, int TotalVms, int SandboxedVms, int EchoVms, int Callers, TimeSpan Duration, int Rounds,
    int PageSize, IReadOnlyList<int> SlopeCounts, bool Measure, string? ServerDll)
{
    /// <summary>The memory runs only.</summary>
    public bool MemoryOnly { get; init; }

    /// <summary>Environments the memory runs are repeated with (a GC setting, say), each run alternated with the default's
    /// at every VM count so that the machine's load weighs on both alike.</summary>
    public IReadOnlyList<(string Name, string Value)[]> MemoryVariants { get; init; } = [];
}

/// <summary>
/// Issue 19's scale run: a loopback cluster started with the server's launcher (<see cref="ChildCluster"/>), host agents
/// holding <c>TotalVms</c> VMs of which a few run sandboxed workers, a few answer at the dispatcher (provider echo) and
/// the rest have no tools. It prints the time until every VM is in the inventory and the workers' VMs are ready; paged
/// RetrievePropertiesEx through a ContainerView (time, pages, bytes; every VM exactly once); guest-operation throughput
/// through one VM against spread over every worker VM, with workers and with the echo provider, and the CPU per call of
/// each role and of redis-server; logins/s; how long a change on one VM takes to be seen at a front end; and, from
/// separate runs at several VM counts, the resident memory per VM of a host agent and of a front end (the slope).
/// Exit code 0 when everything was found, answered and paged correctly.
/// </summary>
internal static class ClusterScaleCommand
{
    private static readonly string[] Paths = ["name", "runtime.powerState", "guest.guestOperationsReady"];

    public static async Task<int> RunAsync(ClusterScaleOptions options)
    {
        var serverDll = ChildServer.FindServerDll(options.ServerDll);
        if (serverDll is null)
        {
            Console.WriteLine("GuestOps.Server.dll not found: build it (dotnet build -c Release src/GuestOps.Server) or pass --server-dll.");
            return 2;
        }

        if (options.TotalVms % options.HostAgents != 0 || options.SandboxedVms % options.HostAgents != 0 || options.EchoVms % options.HostAgents != 0
            || options.SandboxedVms < options.HostAgents || options.TotalVms < options.SandboxedVms + options.EchoVms)
        {
            Console.WriteLine("--vms, --sandboxed and --echo must divide evenly over --hostagents, with at least one sandboxed VM per host agent.");
            return 2;
        }

        Console.WriteLine(options.MemoryOnly
            ? $"cluster-scale: the memory runs only, at {string.Join(", ", options.SlopeCounts)} VMs"
            : $"cluster-scale: {options.HostAgents} host agents, {options.FrontEnds} front ends, {options.TotalVms} VMs ({options.SandboxedVms} sandboxed workers, {options.EchoVms} echo, the rest without tools)");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, govc {(FindOnPath("govc") ?? "not installed: the govc ls check is skipped")}");
        var whole = Stopwatch.StartNew();
        var result = new Dictionary<string, object>();
        var ok = true;
        if (options.Measure && options.SlopeCounts.Count > 0)
        {
            await MemorySlopeAsync(serverDll, options, result);
        }

        if (!options.MemoryOnly)
        {
            ok &= await MainRunAsync(serverDll, options, result);
        }

        result["ok"] = ok;
        result["seconds"] = Math.Round(whole.Elapsed.TotalSeconds);
        Console.WriteLine($"whole run {whole.Elapsed.TotalSeconds:0} s");
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
        return ok ? 0 : 1;
    }

    private static async Task<bool> MainRunAsync(string serverDll, ClusterScaleOptions options, Dictionary<string, object> result)
    {
        var perHost = options.TotalVms / options.HostAgents;
        var sandboxedPerHost = options.SandboxedVms / options.HostAgents;
        var echoPerHost = options.EchoVms / options.HostAgents;
        var clock = Stopwatch.StartNew();
        await using var cluster = await ChildCluster.StartAsync(serverDll,
            ["--frontends", Invariant(options.FrontEnds), "--hostagents", Invariant(options.HostAgents), "--vms-per-host", Invariant(sandboxedPerHost),
             "--vms-without-tools-per-host", Invariant(perHost - sandboxedPerHost - echoPerHost), "--echo-vms-per-host", Invariant(echoPerHost)],
            [("GuestOps__GuestCredentialCacheSeconds", "30")], TimeSpan.FromMinutes(5));
        var membersAnswer = clock.Elapsed;
        Console.WriteLine($"members answering {membersAnswer.TotalSeconds:0.0} s after start");
        var frontEnd = cluster.FrontEnds[0];
        await using var admin = await ConnectAsync(frontEnd);

        // Every VM in the inventory, then every worker (and echo) VM ready.
        TimeSpan? allListed = null;
        IReadOnlyList<ObjectContent> vms = [];
        var readyWanted = options.SandboxedVms + options.EchoVms;
        var readyDeadline = TimeSpan.FromSeconds(Math.Max(180, options.SandboxedVms));
        while (true)
        {
            vms = await admin.RetrieveAllAsync("VirtualMachine", ["name", "guest.guestOperationsReady"]);
            if (vms.Count >= options.TotalVms && allListed is null)
            {
                allListed = clock.Elapsed;
            }

            if (vms.Count >= options.TotalVms && vms.Count(v => Value(v, "guest.guestOperationsReady") is true) >= readyWanted)
            {
                break;
            }

            if (clock.Elapsed > readyDeadline)
            {
                Console.WriteLine($"NOT READY: {vms.Count} of {options.TotalVms} VMs listed, {vms.Count(v => Value(v, "guest.guestOperationsReady") is true)} of {readyWanted} ready after {clock.Elapsed.TotalSeconds:0} s");
                Console.WriteLine(cluster.Tail);
                return false;
            }

            await Task.Delay(500);
        }

        var allReady = clock.Elapsed;
        Console.WriteLine($"all {options.TotalVms} VMs in the inventory {allListed!.Value.TotalSeconds:0.0} s after start; all {readyWanted} worker and echo VMs ready {allReady.TotalSeconds:0.0} s after start");
        result["membersAnswerSeconds"] = Math.Round(membersAnswer.TotalSeconds, 1);
        result["allListedSeconds"] = Math.Round(allListed.Value.TotalSeconds, 1);
        result["allReadySeconds"] = Math.Round(allReady.TotalSeconds, 1);

        var byName = vms.ToDictionary(v => (string)Value(v, "name")!, v => v.obj, StringComparer.Ordinal);
        var sandboxed = Enumerable.Range(1, options.HostAgents).SelectMany(h => Enumerable.Range(1, sandboxedPerHost).Select(v => byName[$"host-{h}-vm-{v}"])).ToArray();
        var echo = Enumerable.Range(1, options.HostAgents).SelectMany(h => Enumerable.Range(1, echoPerHost).Select(v => byName[$"host-{h}-echo-{v}"])).ToArray();
        var expectedNames = Enumerable.Range(1, options.HostAgents).SelectMany(h =>
            Enumerable.Range(1, sandboxedPerHost).Select(v => $"host-{h}-vm-{v}")
                .Concat(Enumerable.Range(1, perHost - sandboxedPerHost - echoPerHost).Select(v => $"host-{h}-notools-{v}"))
                .Concat(Enumerable.Range(1, echoPerHost).Select(v => $"host-{h}-echo-{v}"))).ToHashSet(StringComparer.Ordinal);
        var found = byName.Keys.ToHashSet(StringComparer.Ordinal);
        var everyVmFound = found.SetEquals(expectedNames) && vms.Count == options.TotalVms;
        Console.WriteLine($"every VM found: {everyVmFound} ({vms.Count} listed, {expectedNames.Count} expected, {expectedNames.Except(found).Count()} missing, {found.Except(expectedNames).Count()} unexpected)");

        // Paged RetrievePropertiesEx through a ContainerView, as vCenter clients page: typed client for the time, the
        // raw SOAP for the bytes; both must return every VM exactly once.
        var paging = await PagingAsync(admin, frontEnd, options.PageSize, options.Measure ? 3 : 1);
        var pagedOnce = paging.Ids.Count == options.TotalVms && paging.Ids.Distinct(StringComparer.Ordinal).Count() == options.TotalVms
            && paging.Ids.ToHashSet(StringComparer.Ordinal).SetEquals(vms.Select(v => v.obj.Value))
            && paging.RawIds.Count == options.TotalVms && paging.RawIds.ToHashSet(StringComparer.Ordinal).SetEquals(paging.Ids);
        Console.WriteLine($"paged RetrievePropertiesEx ({string.Join(", ", Paths)}), maxObjects {options.PageSize}: {paging.Pages} pages, {paging.Ids.Count} objects, every VM exactly once: {pagedOnce}; "
            + $"{paging.Milliseconds:0} ms (median of {paging.Runs}), {paging.Bytes / 1024.0 / 1024.0:0.00} MiB of SOAP responses ({paging.Bytes / Math.Max(1, paging.Ids.Count)} bytes a VM)");
        result["pagingMilliseconds"] = Math.Round(paging.Milliseconds);
        result["pagingBytes"] = paging.Bytes;
        result["pages"] = paging.Pages;
        result["pagedExactlyOnce"] = pagedOnce;
        result["everyVmFound"] = everyVmFound;
        if (FindOnPath("govc") is { } govc)
        {
            var listed = await GovcLsAsync(govc, frontEnd);
            Console.WriteLine($"govc ls /ha-datacenter/vm: {listed} entries");
            result["govcLs"] = listed;
        }

        // Every worker and echo VM answers through both front ends; a VM without tools fails at once, as documented.
        var callers = new List<Caller>();
        for (var i = 0; i < Math.Max(options.Callers, 2); i++)
        {
            callers.Add(await Caller.ConnectAsync(cluster.FrontEnds[i % cluster.FrontEnds.Count]));
        }

        try
        {
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            var notConnected = 0;
            await Parallel.ForEachAsync(sandboxed.Concat(echo).Select((vm, i) => (vm, i)), new ParallelOptions { MaxDegreeOfParallelism = callers.Count }, async (item, _) =>
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await callers[item.i % callers.Count].ListFilesAsync(item.vm);
                        break;
                    }
                    catch (FaultException e) when (attempt < 5 && VimFaults.Detail(e) is HostNotConnected)
                    {
                        // A front end counts a host agent disconnected when one inventory poll takes longer than 2 s
                        // (ClusterHostAgent.PollTimeout); on a loaded machine that happens while the host agent lives.
                        Interlocked.Increment(ref notConnected);
                        await Task.Delay(TimeSpan.FromSeconds(1));
                    }
                    catch (Exception e) when (e is FaultException or CommunicationException or TimeoutException)
                    {
                        failures.Add($"{item.vm.Value}: {e.Message}");
                        break;
                    }
                }
            });
            var everyReadyAnswers = failures.IsEmpty;
            result["transientHostNotConnected"] = notConnected;
            if (notConnected > 0)
            {
                Console.WriteLine($"HostNotConnected from a live host agent {notConnected} times (each retried after 1 s)");
            }

            Console.WriteLine($"ListFilesInGuest answered by {sandboxed.Length + echo.Length - failures.Count} of {sandboxed.Length + echo.Length} worker and echo VMs{(failures.IsEmpty ? "" : ": " + string.Join("; ", failures.Take(5)))}");
            var withoutTools = byName[$"host-{options.HostAgents}-notools-1"];
            var fault = await callers[0].FaultOfAsync(withoutTools);
            var failsFast = fault.Fault is GuestOperationsUnavailable && fault.Milliseconds < 10_000;
            Console.WriteLine($"a VM without tools: {fault.Fault?.GetType().Name ?? "no fault"} after {fault.Milliseconds:0.0} ms");
            result["everyReadyVmAnswers"] = everyReadyAnswers;
            result["withoutToolsFault"] = fault.Fault?.GetType().Name ?? "none";
            var correct = everyVmFound && pagedOnce && everyReadyAnswers && failsFast;
            if (!options.Measure)
            {
                var check = await UpdatesAsync(cluster, admin, sandboxed[^1], options.TotalVms, idleWindow: null);
                result["updatesEntered"] = check.Entered;
                result["updateSeen"] = check.Seen;
                correct &= check.Entered == options.TotalVms && check.Seen;
                result["internalErrors"] = cluster.InternalErrors;
                Console.WriteLine($"internal errors logged by the members: {cluster.InternalErrors}{(cluster.InternalErrors > 0 ? Environment.NewLine + cluster.ErrorLines : "")}");
                return correct && cluster.InternalErrors == 0;
            }

            var roles = new Roles(cluster.Pids("frontend-"), cluster.Pids("host-"), cluster.Pids("redis"));
            Console.WriteLine($"memory with {options.TotalVms} VMs: front ends RSS {string.Join(" / ", roles.FrontEnds.Select(p => $"{ProcFs.ResidentMiB(p):0}"))} MiB; host agents RSS {string.Join(" / ", roles.HostAgents.Select(p => $"{ProcFs.ResidentMiB(p):0}"))} MiB; redis-server {string.Join("", roles.Redis.Select(p => $"{ProcFs.ResidentMiB(p):0}"))} MiB");
            var idle = await IdleAsync(roles, TimeSpan.FromSeconds(10));
            Console.WriteLine($"idle CPU over 10 s (the inventory poll and membership): front end {idle.FrontEnd * 1000:0.0} ms/s each, host agent {idle.HostAgent * 1000:0.0} ms/s each, redis-server {idle.Redis * 1000:0.0} ms/s");
            result["idleFrontEndMsPerSecond"] = Math.Round(idle.FrontEnd * 1000, 1);
            result["idleHostAgentMsPerSecond"] = Math.Round(idle.HostAgent * 1000, 1);
            result["idleRedisMsPerSecond"] = Math.Round(idle.Redis * 1000, 1);

            // Throughput: one VM against spread over every worker VM, then the same with the echo provider.
            await MeasureAsync(callers, _ => sandboxed[0], TimeSpan.FromSeconds(5), roles);
            var warm = 0L;
            await MeasureAsync(callers, _ => sandboxed[Interlocked.Increment(ref warm) % sandboxed.Length], TimeSpan.FromSeconds(5), roles);
            await MeasureAsync(callers, _ => echo[Interlocked.Increment(ref warm) % echo.Length], TimeSpan.FromSeconds(5), roles);
            // "echo one per host": one echo VM on each host agent, round robin, so that the spread side's extra cost of
            // waking every host agent is told apart from any cost per VM.
            var echoPerHostOne = Enumerable.Range(1, options.HostAgents).Select(h => byName[$"host-{h}-echo-1"]).ToArray();
            var sides = new Dictionary<string, List<Measurement>> { ["worker one"] = [], ["worker spread"] = [], ["echo one"] = [], ["echo one per host"] = [], ["echo spread"] = [] };
            for (var round = 1; round <= options.Rounds; round++)
            {
                var n = 0L;
                sides["worker one"].Add(await MeasureAsync(callers, _ => sandboxed[0], options.Duration, roles));
                sides["worker spread"].Add(await MeasureAsync(callers, _ => sandboxed[Interlocked.Increment(ref n) % sandboxed.Length], options.Duration, roles));
                sides["echo one"].Add(await MeasureAsync(callers, _ => echo[0], options.Duration, roles));
                sides["echo one per host"].Add(await MeasureAsync(callers, _ => echoPerHostOne[Interlocked.Increment(ref n) % echoPerHostOne.Length], options.Duration, roles));
                sides["echo spread"].Add(await MeasureAsync(callers, _ => echo[Interlocked.Increment(ref n) % echo.Length], options.Duration, roles));
                Console.WriteLine($"round {round}: " + string.Join("; ", sides.Select(s => $"{s.Key} {s.Value[^1]}")));
            }

            var workerRatio = Median(sides["worker spread"]) / Median(sides["worker one"]);
            var echoRatio = Median(sides["echo spread"]) / Median(sides["echo one"]);
            var echoPerVmRatio = Median(sides["echo spread"]) / Median(sides["echo one per host"]);
            Console.WriteLine($"median ListFilesInGuest ops/s: workers one VM {Median(sides["worker one"]):0}, spread over {sandboxed.Length} {Median(sides["worker spread"]):0} (ratio {workerRatio:0.00}); "
                + $"echo one VM {Median(sides["echo one"]):0}, spread over {echo.Length} {Median(sides["echo spread"]):0} (ratio {echoRatio:0.00}, goal >= 0.9); echo one VM per host agent {Median(sides["echo one per host"]):0} (spread / one per host {echoPerVmRatio:0.00}: the cost per VM alone)");
            foreach (var (name, list) in sides)
            {
                var m = list.OrderBy(x => x.OpsPerSecond).ElementAt(list.Count / 2);
                Console.WriteLine($"CPU per call, {name}: front end {m.FrontEndMicros:0} us, host agent {m.HostAgentMicros:0} us, redis-server {m.RedisMicros:0.0} us, the rest of the machine (workers, callers) {m.RestMicros:0} us");
                result[$"{name.Replace(' ', '_')}_opsPerSecond"] = Math.Round(m.OpsPerSecond);
                result[$"{name.Replace(' ', '_')}_cpuMicros"] = new { frontEnd = Math.Round(m.FrontEndMicros), hostAgent = Math.Round(m.HostAgentMicros), redis = Math.Round(m.RedisMicros, 1), rest = Math.Round(m.RestMicros) };
            }

            result["workerSpreadRatio"] = Math.Round(workerRatio, 3);
            result["echoSpreadRatio"] = Math.Round(echoRatio, 3);
            result["echoSpreadPerHostRatio"] = Math.Round(echoPerVmRatio, 3);
            var errors = sides.Values.SelectMany(l => l).Sum(m => m.Errors);
            result["callErrors"] = errors;

            var logins = await LoginsAsync(callers, options.Duration, roles);
            Console.WriteLine($"logins: {logins.OpsPerSecond:0} Login+Logout pairs/s with {callers.Count} callers over {cluster.FrontEnds.Count} front ends (CPU per pair: front end {logins.FrontEndMicros:0} us, redis-server {logins.RedisMicros:0} us)");
            result["loginsPerSecond"] = Math.Round(logins.OpsPerSecond);
            result["loginFrontEndCpuMicros"] = Math.Round(logins.FrontEndMicros);
            result["loginRedisCpuMicros"] = Math.Round(logins.RedisMicros, 1);

            var updates = await UpdatesAsync(cluster, admin, sandboxed[^1], options.TotalVms, idleWindow: TimeSpan.FromSeconds(10));
            result["updatesEntered"] = updates.Entered;
            result["updatesEnterMilliseconds"] = Math.Round(updates.EnterMilliseconds);
            result["updatesEnterBytes"] = updates.EnterBytes;
            result["updatesIdleWaitFrontEndMsPerSecond"] = Math.Round(updates.IdleFrontEndMsPerSecond, 1);
            result["updatesIdleFrontEndMsPerSecond"] = Math.Round(updates.IdleWithoutWaitMsPerSecond, 1);
            result["updateSeen"] = updates.Seen;
            result["updateLatencyMilliseconds"] = Math.Round(updates.LatencyMilliseconds);
            result["updateObjects"] = updates.UpdateObjects;
            result["updateBytes"] = updates.UpdateBytes;
            result["updateKills"] = updates.Kills;
            correct &= updates.Entered == options.TotalVms && updates.Seen;
            result["internalErrors"] = cluster.InternalErrors;
            Console.WriteLine($"internal errors logged by the members: {cluster.InternalErrors}{(cluster.InternalErrors > 0 ? Environment.NewLine + cluster.ErrorLines : "")}");
            return correct && errors == 0 && cluster.InternalErrors == 0;
        }
        finally
        {
            foreach (var caller in callers)
            {
                await caller.DisposeAsync();
            }
        }
    }

    /// <summary>Resident memory of a host agent and a front end at several VM counts (one of each, one sandboxed VM, the
    /// rest without tools), after a paged read of every VM; the slope is fitted by least squares. With
    /// <see cref="ClusterScaleOptions.MemoryVariants"/>, each count is run with the default environment and then with each
    /// variant's, and a slope is fitted per variant.</summary>
    private static async Task MemorySlopeAsync(string serverDll, ClusterScaleOptions options, Dictionary<string, object> result)
    {
        (string Name, string Value)[][] variants = [[], .. options.MemoryVariants];
        var points = variants.Select(_ => new List<(int Vms, double HostAgentMiB, double FrontEndMiB)>()).ToArray();
        foreach (var count in options.SlopeCounts)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                var (host, front) = await MemoryAtAsync(serverDll, options, count, variants[v]);
                points[v].Add((count, host, front));
                Console.WriteLine($"memory at {count} VMs{Label(variants[v])}: host agent RSS {host:0.0} MiB, front end RSS {front:0.0} MiB");
            }
        }

        for (var v = 0; v < variants.Length && options.SlopeCounts.Count >= 2; v++)
        {
            var hostSlope = Slope(points[v].Select(p => ((double)p.Vms, p.HostAgentMiB)).ToList()) * 1024;
            var frontSlope = Slope(points[v].Select(p => ((double)p.Vms, p.FrontEndMiB)).ToList()) * 1024;
            Console.WriteLine($"memory per VM{Label(variants[v])} (RSS slope, least squares over {points[v].Count} counts): host agent {hostSlope:0.0} KiB (goal < 64), front end {frontSlope:0.0} KiB (goal < 8)");
            var key = v == 0 ? "" : "[" + string.Join(",", variants[v].Select(e => $"{e.Name}={e.Value}")) + "]";
            result["hostAgentKiBPerVm" + key] = Math.Round(hostSlope, 1);
            result["frontEndKiBPerVm" + key] = Math.Round(frontSlope, 1);
        }

        static string Label((string Name, string Value)[] variant) =>
            variant.Length == 0 ? "" : " with " + string.Join(" ", variant.Select(e => $"{e.Name}={e.Value}"));
    }

    private static async Task<(double HostAgentMiB, double FrontEndMiB)> MemoryAtAsync(string serverDll, ClusterScaleOptions options, int count, (string Name, string Value)[] environment)
    {
        await using var cluster = await ChildCluster.StartAsync(serverDll,
            ["--frontends", "1", "--hostagents", "1", "--vms-per-host", "1", "--vms-without-tools-per-host", Invariant(count - 1)], environment, TimeSpan.FromMinutes(5));
        await using var admin = await ConnectAsync(cluster.FrontEnds[0]);
        var deadline = Stopwatch.StartNew();
        while ((await admin.RetrieveAllAsync("VirtualMachine", ["name"])).Count < count && deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(500);
        }

        for (var i = 0; i < 3; i++)
        {
            _ = await PagingAsync(admin, cluster.FrontEnds[0], options.PageSize, 1);
        }

        await Task.Delay(TimeSpan.FromSeconds(5));
        return (cluster.Pids("host-").Select(ProcFs.ResidentMiB).Single(), cluster.Pids("frontend-").Select(ProcFs.ResidentMiB).Single());
    }

    private static double Slope(List<(double X, double Y)> points)
    {
        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        return points.Sum(p => (p.X - mx) * (p.Y - my)) / points.Sum(p => (p.X - mx) * (p.X - mx));
    }

    private sealed record Paging(List<string> Ids, List<string> RawIds, int Pages, long Bytes, double Milliseconds, int Runs);

    private static async Task<Paging> PagingAsync(VimConnection admin, Uri frontEnd, int pageSize, int runs)
    {
        var times = new List<double>();
        List<string> ids = [];
        var pages = 0;
        var collector = admin.Content.propertyCollector!;
        for (var run = 0; run < runs; run++)
        {
            var clock = Stopwatch.StartNew();
            var view = await admin.Port.CreateContainerViewAsync(admin.Content.viewManager!, admin.Content.rootFolder!, ["VirtualMachine"], true);
            ids = [];
            pages = 0;
            var spec = new PropertyFilterSpec
            {
                propSet = [new PropertySpec { type = "VirtualMachine", pathSet = Paths }],
                objectSet = [new ObjectSpec { obj = view, skip = true, selectSet = [new TraversalSpec { name = "traverseEntities", type = "ContainerView", path = "view", skip = false }] }],
            };
            var page = await admin.Port.RetrievePropertiesExAsync(collector, [spec], new RetrieveOptions { maxObjects = pageSize });
            while (page is not null)
            {
                pages++;
                ids.AddRange((page.objects ?? []).Select(o => o.obj.Value));
                if (page.token is not { Length: > 0 } token)
                {
                    break;
                }

                page = await admin.Port.ContinueRetrievePropertiesExAsync(collector, token);
            }

            await admin.Port.DestroyViewAsync(view);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        using var raw = new VimCaller(new Uri(frontEnd, "/"), TimeSpan.FromMinutes(2));
        await raw.LoginAsync(ChildServer.RootPassword, CancellationToken.None);
        var rawView = await raw.CreateVmContainerViewAsync(admin.Content.rootFolder!.Value, CancellationToken.None);
        var (rawIds, _, bytes) = await raw.RetrievePagedAsync(rawView, Paths, pageSize, CancellationToken.None);
        return new Paging(ids, rawIds, pages, bytes, times.Order().ElementAt(times.Count / 2), runs);
    }

    private static async Task<int> GovcLsAsync(string govc, Uri frontEnd)
    {
        var start = new ProcessStartInfo(govc, ["ls", "/ha-datacenter/vm"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["GOVC_URL"] = frontEnd.ToString();
        start.Environment["GOVC_USERNAME"] = "root";
        start.Environment["GOVC_PASSWORD"] = ChildServer.RootPassword;
        start.Environment["GOVC_INSECURE"] = "1";
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length : -1;
    }

    internal sealed record Roles(IReadOnlyList<int> FrontEnds, IReadOnlyList<int> HostAgents, IReadOnlyList<int> Redis)
    {
        public (double FrontEnd, double HostAgent, double Redis) Cpu() =>
            (FrontEnds.Sum(ProcFs.CpuSeconds), HostAgents.Sum(ProcFs.CpuSeconds), Redis.Sum(ProcFs.CpuSeconds));
    }

    private static async Task<(double FrontEnd, double HostAgent, double Redis)> IdleAsync(Roles roles, TimeSpan window)
    {
        var before = roles.Cpu();
        await Task.Delay(window);
        var after = roles.Cpu();
        var seconds = window.TotalSeconds;
        return ((after.FrontEnd - before.FrontEnd) / seconds / roles.FrontEnds.Count, (after.HostAgent - before.HostAgent) / seconds / roles.HostAgents.Count, (after.Redis - before.Redis) / seconds);
    }

    internal sealed record Measurement(double OpsPerSecond, double P50, double P99, long Errors, double FrontEndMicros, double HostAgentMicros, double RedisMicros, double RestMicros)
    {
        public override string ToString() => $"{OpsPerSecond:0} ops/s (p50 {P50:0.0} ms, p99 {P99:0.0} ms{(Errors > 0 ? $", ERRORS {Errors}" : "")})";
    }

    internal static double Median(List<Measurement> values) => values.Select(m => m.OpsPerSecond).Order().ElementAt(values.Count / 2);

    internal static Task<Measurement> MeasureAsync(List<Caller> callers, Func<int, ManagedObjectReference> vm, TimeSpan duration, Roles roles) =>
        LoadAsync(callers, (caller, i) => caller.ListFilesAsync(vm(i)), duration, roles);

    private static Task<Measurement> LoginsAsync(List<Caller> callers, TimeSpan duration, Roles roles) =>
        LoadAsync(callers, async (caller, _) =>
        {
            await caller.Connection.LoginAsync("root", ChildServer.RootPassword);
            await caller.Connection.LogoutAsync();
        }, duration, roles, relogin: true);

    private static async Task<Measurement> LoadAsync(List<Caller> callers, Func<Caller, int, Task> call, TimeSpan duration, Roles roles, bool relogin = false)
    {
        var latencies = new Latencies();
        long errors = 0;
        var deadline = DateTime.UtcNow + duration;
        var (busyBefore, totalBefore) = MachineCpu();
        var before = roles.Cpu();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(callers.Select((c, i) => Task.Run(async () =>
        {
            while (DateTime.UtcNow < deadline)
            {
                var one = Stopwatch.StartNew();
                try
                {
                    await call(c, i);
                    latencies.Add(one.Elapsed);
                }
                catch (Exception e) when (e is FaultException or CommunicationException or TimeoutException)
                {
                    Interlocked.Increment(ref errors);
                }
            }

            if (relogin)
            {
                await c.Connection.LoginAsync("root", ChildServer.RootPassword);
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var after = roles.Cpu();
        var (busyAfter, totalAfter) = MachineCpu();
        var ops = Math.Max(1, latencies.Count);
        var machine = (busyAfter - busyBefore) / Math.Max(1, totalAfter - totalBefore) * Environment.ProcessorCount * seconds;
        var frontEnd = after.FrontEnd - before.FrontEnd;
        var hostAgent = after.HostAgent - before.HostAgent;
        var redis = after.Redis - before.Redis;
        return new Measurement(latencies.Count / seconds, latencies.Percentile(0.5), latencies.Percentile(0.99), errors,
            frontEnd / ops * 1e6, hostAgent / ops * 1e6, redis / ops * 1e6, Math.Max(0, machine - frontEnd - hostAgent - redis) / ops * 1e6);
    }

    internal sealed record Updates(int Entered, double EnterMilliseconds, long EnterBytes, double IdleFrontEndMsPerSecond, double IdleWithoutWaitMsPerSecond,
        bool Seen, double LatencyMilliseconds, int UpdateObjects, long UpdateBytes, int Kills);

    /// <summary>
    /// PropertyCollector updates with every VM watched: CreateFilter on a ContainerView of every VM (name,
    /// runtime.powerState, runtime.host, guest.guestOperationsReady, guest.toolsRunningStatus); WaitForUpdatesEx from
    /// version "" (every VM enters: time and bytes); with <paramref name="idleWindow"/>, the first front end's CPU while a
    /// client waits and nothing changes, against the same window with no wait; then the sandbox of <paramref name="vm"/>
    /// is killed (again every 3 s: a worker restarted within the front end's 1 s inventory poll is no change) until a
    /// WaitForUpdatesEx returns its modify with guest.guestOperationsReady false: the time from the last kill, and that
    /// update's objects and bytes (its XML as the server serializes it).
    /// </summary>
    private static async Task<Updates> UpdatesAsync(ChildCluster cluster, VimConnection admin, ManagedObjectReference vm, int totalVms, TimeSpan? idleWindow)
    {
        var port = admin.Port;
        var collector = admin.Content.propertyCollector;
        var view = await port.CreateContainerViewAsync(admin.Content.viewManager!, admin.Content.rootFolder, ["VirtualMachine"], true);
        var filter = await port.CreateFilterAsync(collector, new PropertyFilterSpec
        {
            objectSet = [new ObjectSpec { obj = view, skip = true, selectSet = [new TraversalSpec { type = "ContainerView", path = "view" }] }],
            propSet = [new PropertySpec { type = "VirtualMachine", pathSet = ["name", "runtime.powerState", "runtime.host", "guest.guestOperationsReady", "guest.toolsRunningStatus"] }],
        }, true);
        try
        {
            var clock = Stopwatch.StartNew();
            var first = await port.WaitForUpdatesExAsync(collector, "", new WaitOptions { maxWaitSeconds = 60 });
            var enterMilliseconds = clock.Elapsed.TotalMilliseconds;
            var entered = first?.filterSet?.SelectMany(f => f.objectSet ?? []).Count(o => o.kind == ObjectUpdateKind.Enter) ?? 0;
            var enterBytes = first is null ? 0 : XmlBytes(first);
            var version = first?.version ?? "";
            Console.WriteLine($"WaitForUpdatesEx from version \"\": {entered} of {totalVms} VMs entered in {enterMilliseconds:0} ms, {enterBytes / 1024.0 / 1024.0:0.00} MiB");

            double idleWait = double.NaN, idleNoWait = double.NaN;
            if (idleWindow is { } window)
            {
                var frontEnd = cluster.Pids("frontend-1")[0]; // the front end of admin (FrontEnds[0])
                var before = ProcFs.CpuSeconds(frontEnd);
                await Task.Delay(window);
                idleNoWait = (ProcFs.CpuSeconds(frontEnd) - before) / window.TotalSeconds * 1000;
                before = ProcFs.CpuSeconds(frontEnd);
                var waited = Stopwatch.StartNew();
                var idle = await port.WaitForUpdatesExAsync(collector, version, new WaitOptions { maxWaitSeconds = (int)window.TotalSeconds });
                idleWait = (ProcFs.CpuSeconds(frontEnd) - before) / waited.Elapsed.TotalSeconds * 1000;
                if (idle is not null)
                {
                    version = idle.version;
                    Console.WriteLine($"(the idle wait returned {idle.filterSet?.Sum(f => f.objectSet?.Length ?? 0)} object updates: something changed meanwhile)");
                }

                Console.WriteLine($"first front end's CPU with a client waiting in WaitForUpdatesEx on all {totalVms} VMs: {idleWait:0.0} ms/s; with none waiting: {idleNoWait:0.0} ms/s");
            }

            var kills = 0;
            var lastKill = 0.0;
            clock.Restart();
            while (clock.Elapsed < TimeSpan.FromSeconds(90))
            {
                if (kills == 0 || clock.Elapsed.TotalMilliseconds - lastKill > 3000)
                {
                    foreach (var pid in cluster.GuestPids(vm.Value))
                    {
                        try
                        {
                            Process.GetProcessById(pid).Kill();
                        }
                        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                        {
                        }
                    }

                    kills++;
                    lastKill = clock.Elapsed.TotalMilliseconds;
                }

                var update = await port.WaitForUpdatesExAsync(collector, version, new WaitOptions { maxWaitSeconds = 1 });
                var at = clock.Elapsed.TotalMilliseconds;
                if (update is null)
                {
                    continue;
                }

                version = update.version;
                var objects = update.filterSet?.SelectMany(f => f.objectSet ?? []).ToArray() ?? [];
                if (objects.Any(o => o.obj.Equals(vm) && o.kind == ObjectUpdateKind.Modify
                    && o.changeSet?.Any(c => c.name == "guest.guestOperationsReady" && c.val is false) == true))
                {
                    var bytes = XmlBytes(update);
                    Console.WriteLine($"a change on one VM of {totalVms} (its worker's sandbox killed, {kills} time(s)): WaitForUpdatesEx returned its modify {at - lastKill:0} ms after the last kill; "
                        + $"that update: {objects.Length} object(s), {bytes} bytes");
                    return new Updates(entered, enterMilliseconds, enterBytes, idleWait, idleNoWait, true, at - lastKill, objects.Length, bytes, kills);
                }
            }

            Console.WriteLine($"a change on one VM of {totalVms}: NO update with its worker lost within 90 s ({kills} kills)");
            return new Updates(entered, enterMilliseconds, enterBytes, idleWait, idleNoWait, false, double.NaN, 0, 0, kills);
        }
        finally
        {
            await port.DestroyPropertyFilterAsync(filter);
            await port.DestroyViewAsync(view);
        }
    }

    /// <summary>The XML of <paramref name="set"/> as the server's serializer writes it: the size of its SOAP body, near enough.</summary>
    private static long XmlBytes(UpdateSet set)
    {
        using var buffer = new MemoryStream();
        using (var writer = System.Xml.XmlWriter.Create(buffer, new System.Xml.XmlWriterSettings { Indent = false }))
        {
            new System.Xml.Serialization.XmlSerializer(typeof(UpdateSet), [.. VimTypes.All]).Serialize(writer, set);
        }

        return buffer.Length;
    }

    internal static async Task<VimConnection> ConnectAsync(Uri sdk)
    {
        var connection = await VimConnection.ConnectAsync(sdk, new VimConnectionOptions { AcceptAnyServerCertificate = true, Timeout = TimeSpan.FromMinutes(2) });
        await connection.LoginAsync("root", ChildServer.RootPassword);
        return connection;
    }

    private static object? Value(ObjectContent content, string path) => content.propSet?.FirstOrDefault(p => p.name == path)?.val;

    /// <summary>Busy and total jiffies of the whole machine (/proc/stat).</summary>
    private static (double Busy, double Total) MachineCpu()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var total = fields.Take(8).Sum();
        return (total - fields[3] - fields[4], total);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>One vSphere client of the run: the typed client logged in as root, with the guest file manager.</summary>
    internal sealed class Caller : IAsyncDisposable
    {
        private static readonly NamePasswordAuthentication Demo = new() { username = "demo", password = ChildServer.GuestPassword, interactiveSession = false };

        private Caller(VimConnection connection, ManagedObjectReference fileManager)
        {
            Connection = connection;
            FileManager = fileManager;
        }

        public VimConnection Connection { get; }

        private ManagedObjectReference FileManager { get; }

        public static async Task<Caller> ConnectAsync(Uri sdk)
        {
            var connection = await ClusterScaleCommand.ConnectAsync(sdk);
            return new Caller(connection, (await connection.GuestManagersAsync()).FileManager);
        }

        public Task ListFilesAsync(ManagedObjectReference vm) =>
            Connection.Port.ListFilesInGuestAsync(FileManager, vm, Demo, "/tmp", null, null, null);

        /// <summary>The vim fault a ListFilesInGuest of <paramref name="vm"/> fails with, and how long it took.</summary>
        public async Task<(MethodFault? Fault, double Milliseconds)> FaultOfAsync(ManagedObjectReference vm)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                await VimFaults.Translate(() => ListFilesAsync(vm));
                return (null, clock.Elapsed.TotalMilliseconds);
            }
            catch (VimFaultException e)
            {
                return (e.Fault, clock.Elapsed.TotalMilliseconds);
            }
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }
}
