using System.CommandLine;
using System.Globalization;
using GuestOps.Reliability.Fuzzing;
using GuestOps.Reliability.Load;
using GuestOps.Reliability.Scale;

// Issue 9's long-running reliability programs (usage in docs/reliability.md; `GuestOps.Reliability COMMAND --help`).
// Exit code 0 when the run found nothing wrong, 1 when it did, 2 for bad usage.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var root = new RootCommand("GuestOps reliability programs: fuzz, load and scale runs (see docs/reliability.md)")
{
    Fuzz(),
    Load(),
    Scale(),
    ClusterScale(),
    FrontEndHop(),
};
var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
{
    foreach (var error in parse.Errors)
    {
        Console.WriteLine(error.Message);
    }

    Console.WriteLine("usage: GuestOps.Reliability fuzz|load|scale|cluster-scale|frontend-hop [options]  (see docs/reliability.md)");
    return 2;
}

return await parse.InvokeAsync();

static Option<T> Option<T>(string name, string description, T fallback) =>
    new(name) { Description = description, DefaultValueFactory = _ => fallback };

static Command Fuzz()
{
    var seconds = Option("--seconds", "How long to fuzz", 60.0);
    var iterations = new Option<long?>("--iterations") { Description = "Stop after this many inputs" };
    var seed = new Option<int?>("--seed") { Description = $"The seed (else {FuzzOptions.SeedVariable}, else a random one; printed either way)" };
    var seeds = new Option<string?>("--seeds") { Description = "Folder of seed inputs" };
    var corpus = new Option<string?>("--corpus") { Description = "Folder the corpus is kept in" };
    var findings = new Option<string?>("--findings") { Description = "Folder findings are written to" };
    var engine = Option("--engine", "mutate, afl or libfuzzer", "mutate");
    var replay = new Option<string?>("--replay") { Description = "Replay this input file and stop" };
    var slowMs = Option("--slow-ms", "A dispatch slower than this is a finding (0: none is)", (int)FuzzTarget.DefaultSlowLimit.TotalMilliseconds);
    var command = new Command("fuzz", "Fuzz the SOAP envelope reader and the dispatcher") { seconds, iterations, seed, seeds, corpus, findings, engine, replay, slowMs };
    command.SetAction(result => FuzzCommand.RunAsync(new FuzzOptions(
        TimeSpan.FromSeconds(result.GetValue(seconds)), result.GetValue(iterations) ?? long.MaxValue, FuzzSeed(result.GetValue(seed)),
        result.GetValue(seeds), result.GetValue(corpus), result.GetValue(findings), result.GetValue(engine)!, result.GetValue(replay),
        result.GetValue(slowMs) is > 0 and var slow ? TimeSpan.FromMilliseconds(slow) : null)));
    return command;
}

static Command Load()
{
    var duration = Option("--duration", "Seconds of load", 60.0);
    var callers = Option("--callers", "Concurrent vSphere clients", 64);
    var vms = Option("--vms", "Sandboxed VMs", 4);
    var credentialCache = Option("--credential-cache", "Seconds the server caches guest credentials", 0);
    var maxFileKib = Option("--max-file-kib", "Largest file transferred, KiB", 256);
    var seed = Option("--seed", "Seed of the callers' choices", 1);
    var serverDll = new Option<string?>("--server-dll") { Description = "The server build to start (default: the one next to this program)" };
    var command = new Command("load", "Many callers against one server with sandboxed VMs") { duration, callers, vms, credentialCache, maxFileKib, seed, serverDll };
    command.SetAction(result => LoadCommand.RunAsync(new LoadOptions(
        TimeSpan.FromSeconds(result.GetValue(duration)), result.GetValue(callers), result.GetValue(vms), result.GetValue(credentialCache),
        result.GetValue(maxFileKib) * 1024, result.GetValue(seed), result.GetValue(serverDll))));
    return command;
}

static Command Scale()
{
    var vms = Option("--vms", "Sandboxed VMs", 200);
    var callers = Option("--callers", "Concurrent vSphere clients", 16);
    var duration = Option("--duration", "Seconds of one measured round", 5.0);
    var rounds = Option("--rounds", "Measured rounds", 3);
    var warmup = Option("--warmup", "Seconds of warm-up", 20.0);
    var credentialCache = Option("--credential-cache", "Seconds the server caches guest credentials", 30);
    var maxDeviation = Option("--max-deviation", "Largest allowed deviation between rounds", 0.2);
    var serverDll = new Option<string?>("--server-dll") { Description = "The server build to start (default: the one next to this program)" };
    var measure = Option("--measure", "Measure the rounds (false: only start the VMs)", true);
    var command = new Command("scale", "One host agent with many sandboxed VMs") { vms, callers, duration, rounds, warmup, credentialCache, maxDeviation, serverDll, measure };
    command.SetAction(result => ScaleCommand.RunAsync(new ScaleOptions(
        result.GetValue(vms), result.GetValue(callers), TimeSpan.FromSeconds(result.GetValue(duration)), result.GetValue(rounds),
        TimeSpan.FromSeconds(result.GetValue(warmup)), result.GetValue(credentialCache), result.GetValue(maxDeviation), result.GetValue(serverDll), result.GetValue(measure))));
    return command;
}

static Command FrontEndHop()
{
    var callers = Option("--callers", "Concurrent vSphere clients on each side", 4);
    var duration = Option("--duration", "Seconds of one measured side", 5.0);
    var rounds = Option("--rounds", "Measured rounds (each: both sides, alternating which goes first)", 5);
    var cache = Option("--credential-cache", "GuestCredentialCacheSeconds on both sides (0: a PAM check per call)", 30);
    var serverDll = new Option<string?>("--server-dll") { Description = "The server build to start (default: the one next to this program)" };
    var command = new Command("frontend-hop", "ListFilesInGuest through a front end and a host agent (two processes) against the single process, side by side") { callers, duration, rounds, cache, serverDll };
    command.SetAction(result => FrontEndHopCommand.RunAsync(new FrontEndHopOptions(
        result.GetValue(callers), result.GetValue(duration), result.GetValue(rounds), result.GetValue(cache), result.GetValue(serverDll))));
    return command;
}

static Command ClusterScale()
{
    var ci = Option("--ci", "The test suite's variant: 2 host agents, 1 front end, 1,000 VMs (8 sandboxed, 8 echo); correctness only", false);
    var hostAgents = new Option<int?>("--hostagents") { Description = "Host agents [4; --ci 2]" };
    var frontEnds = new Option<int?>("--frontends") { Description = "Front ends [2; --ci 1]" };
    var vms = new Option<int?>("--vms") { Description = "VMs in all, spread evenly over the host agents [10000; --ci 1000]" };
    var sandboxed = new Option<int?>("--sandboxed") { Description = "Of them, VMs with a sandboxed tools worker [200; --ci 8]" };
    var echo = new Option<int?>("--echo") { Description = "Of them, VMs with the echo provider (the worker's cost removed) [200; --ci 8]" };
    var callers = Option("--callers", "Concurrent vSphere clients of the throughput rounds", 16);
    var duration = Option("--duration", "Seconds of one measured side", 5.0);
    var rounds = Option("--rounds", "Measured rounds (each: workers one VM, spread; echo one VM, spread)", 3);
    var pageSize = new Option<int?>("--page-size") { Description = "maxObjects of the paged RetrievePropertiesEx [1000; --ci 100]" };
    var slope = Option("--slope-counts", "VM counts of the memory runs, comma-separated (empty: none) [--ci: none]", "1000,4000,10000");
    var memoryOnly = Option("--memory-only", "Only the memory runs (--slope-counts), not the cluster of --hostagents and --frontends", false);
    var memoryEnv = new Option<string[]>("--memory-env")
    {
        Description = "Also run the memory runs with these environment variables in every member (NAME=VALUE, several comma-separated; repeat the option for more variants), alternated with the default at each VM count",
        DefaultValueFactory = _ => [],
    };
    var serverDll = new Option<string?>("--server-dll") { Description = "The server build to start (default: the one next to this program)" };
    var command = new Command("cluster-scale", "A loopback cluster (the server's launcher) with thousands of VMs: inventory, paging, memory per VM, throughput, logins") { ci, hostAgents, frontEnds, vms, sandboxed, echo, callers, duration, rounds, pageSize, slope, memoryOnly, memoryEnv, serverDll };
    command.SetAction(result =>
    {
        var isCi = result.GetValue(ci);
        var counts = isCi ? "" : result.GetValue(slope)!;
        return ClusterScaleCommand.RunAsync(new ClusterScaleOptions(
            result.GetValue(hostAgents) ?? (isCi ? 2 : 4), result.GetValue(frontEnds) ?? (isCi ? 1 : 2), result.GetValue(vms) ?? (isCi ? 1000 : 10_000),
            result.GetValue(sandboxed) ?? (isCi ? 8 : 200), result.GetValue(echo) ?? (isCi ? 8 : 200), result.GetValue(callers),
            TimeSpan.FromSeconds(result.GetValue(duration)), result.GetValue(rounds), result.GetValue(pageSize) ?? (isCi ? 100 : 1000),
            counts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray(),
            !isCi, result.GetValue(serverDll))
        {
            MemoryOnly = result.GetValue(memoryOnly),
            MemoryVariants = result.GetValue(memoryEnv)!.Select(variant => variant.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(pair => pair.Split('=', 2) is [var name, var value] ? (name, value) : throw new ArgumentException($"--memory-env: {pair} is not NAME=VALUE"))
                .ToArray()).ToArray(),
        });
    });
    return command;
}

// The fuzz seed: --seed, else GUESTOPS_FUZZ_SEED, else a random one (printed by the run, so any run can be repeated).
static int FuzzSeed(int? option) =>
    option ?? (Environment.GetEnvironmentVariable(FuzzOptions.SeedVariable) is { Length: > 0 } fromEnvironment
        ? int.Parse(fromEnvironment, CultureInfo.InvariantCulture)
        : Random.Shared.Next(1, int.MaxValue));
