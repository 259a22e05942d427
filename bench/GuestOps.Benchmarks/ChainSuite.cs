using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Xml.Linq;
using GuestOps.Channel.Messages;
using GuestOps.Host;
using GuestOps.Host.Providers;
using Microsoft.Extensions.DependencyInjection;

namespace GuestOps.Benchmarks;

/// <summary>
/// Issue 3's chain acceptance point: ListFilesInGuest of a 20-entry directory through the whole chain (HTTPS /sdk with
/// a session cookie → SOAP dispatch → GuestFileManager → host agent → the VM's dispatcher → unix socket → the
/// sandboxed NativeAOT worker: PAM or the credential cache, impersonation, directory listing → back), as a ratio of
/// the raw SOAP echo answering the same request with the same bytes, 16 concurrent callers, once with the worker's
/// credential cache off (GuestCredentialCacheSeconds=0) and once on. Two server compositions in one run, each with
/// two sandboxed VMs; the raw echo is measured in each, alternating with GuestOps.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class ChainSuite
{
    private const double Target = 0.3;
    private const double BusyThreshold = 0.25;
    private const int QuietJitMethods = 10;
    private static readonly TimeSpan WarmupChunk = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxWarmup = TimeSpan.FromSeconds(40);
    private const string VmId = "vm-1";
    private const string ParentDirectory = "/tmp/bench";

    /// <summary>The listed directory in vm-1 (its parent holds nothing else, so <c>..</c> stays unchanged too).</summary>
    private const string ListedDirectory = "/tmp/bench/list";

    private const int DemoUid = 1000;

    /// <summary>All entries' modification and access time: whole seconds, so every answer has the same size.</summary>
    private static readonly DateTime FixedTime = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static readonly XNamespace Vim = "urn:vim25";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        if (WorkerBinary.ResolveForSandboxes(options.WorkerPath, "chain") is not { } worker)
        {
            return 3;
        }

        var clients = options.ClientsGiven ? options.Clients : [ClientKind.Wrk];
        options = options.BusyRetriesGiven ? options : options with { BusyRetries = 1 };
        if (clients.Contains(ClientKind.Wrk) && !WrkLoad.IsAvailable(options.WrkPath))
        {
            Console.WriteLine($"note: {options.WrkPath} not found; using the in-process client.");
            clients = [.. clients.Where(c => c != ClientKind.Wrk).Append(ClientKind.InProcess).Distinct()];
        }

        Console.WriteLine("GuestOps benchmark: ListFilesInGuest through the whole chain vs the raw SOAP echo, guest credential cache off and on");
        Console.WriteLine(BenchMachine.Describe());
        Console.WriteLine($"Worker: {WorkerBinary.Describe(worker)}");
        Console.WriteLine($"Call: ListFilesInGuest of {ListedDirectory} ({options.Entries} entries, {options.Entries + 2} in the answer with . and ..) in {VmId}, "
            + $"NamePasswordAuthentication as guest user {options.GuestUser}, default paging; HTTPS/1.1 keep-alive to /sdk with a vmware_soap_session cookie");
        Console.WriteLine($"Load: {options.Connections} concurrent callers, {options.Warmup.TotalSeconds:0.#} s warm-up + {options.Duration.TotalSeconds:0.#} s per measurement, "
            + $"{options.Rounds} rounds alternating GuestOps, raw echo; clients: {string.Join(", ", clients.Select(c => c == ClientKind.InProcess ? "in-process HttpClient" : $"wrk -t{options.WrkThreads}"))}. "
            + "Server, load generator and both VMs' workers share the machine's cores.");
        Console.WriteLine();

        var results = new List<ChainResult>();
        var breakdowns = new List<(bool CacheOn, Breakdown Breakdown)>();
        var scratch = Directory.CreateTempSubdirectory("guestops-bench-wrk-");
        try
        {
            foreach (var cacheOn in options.CacheModes)
            {
                var (measured, breakdown) = await RunCompositionAsync(options, worker, clients, cacheOn, scratch);
                results.AddRange(measured);
                if (breakdown is not null)
                {
                    breakdowns.Add((cacheOn, breakdown));
                }

                Console.WriteLine();
            }
        }
        finally
        {
            scratch.Delete(recursive: true);
        }

        Console.WriteLine($"== Summary: ListFilesInGuest ({options.Entries}-entry directory), median of {options.Rounds} rounds, {options.Connections} callers; load average now {ProcFs.LoadAverage()}");
        Console.WriteLine($"{"client",-7} {"credential cache",-17} {"GuestOps req/s",14} {"raw req/s",10} {"ratio",6} {"spread",12} {"GuestOps p50/p99 ms",20} {"raw p50/p99 ms",15} {"server CPU us/req G/raw",24} {"worker us/req",14} {"total CPU us/req G/raw",23} {"CPU ratio",9}");
        var verdicts = new List<string>();
        foreach (var group in results.GroupBy(r => (r.Client, r.CacheOn)))
        {
            var ours = group.Where(r => r.Side == Side.GuestOps).Select(r => r.Measurement).ToList();
            var raw = group.Where(r => r.Side == Side.RawEcho).Select(r => r.Measurement).ToList();
            var oursRps = Percentiles.Median(ours.Select(m => m.RequestsPerSecond));
            var rawRps = Percentiles.Median(raw.Select(m => m.RequestsPerSecond));
            var ratio = rawRps > 0 ? oursRps / rawRps : double.NaN;
            var roundRatios = ours.Zip(raw, (a, b) => b.RequestsPerSecond > 0 ? a.RequestsPerSecond / b.RequestsPerSecond : double.NaN).ToList();
            var clientName = group.Key.Client == ClientKind.InProcess ? "inproc" : "wrk";
            var cacheName = group.Key.CacheOn ? $"on ({options.CacheSeconds} s)" : "off (0)";
            var oursTotal = Percentiles.Median(ours.Select(m => m.TotalCpuMicrosPerRequest));
            var rawTotal = Percentiles.Median(raw.Select(m => m.TotalCpuMicrosPerRequest));
            Console.WriteLine(
                $"{clientName,-7} {cacheName,-17} {oursRps,14:F0} {rawRps,10:F0} {ratio,5:F2}x {roundRatios.Min(),5:F2}-{roundRatios.Max():F2}x "
                + $"{Percentiles.Median(ours.Select(m => m.P50Ms)),9:F2} / {Percentiles.Median(ours.Select(m => m.P99Ms)),6:F2}   "
                + $"{Percentiles.Median(raw.Select(m => m.P50Ms)),6:F2} / {Percentiles.Median(raw.Select(m => m.P99Ms)),6:F2}  "
                + $"{Percentiles.Median(ours.Select(m => m.ProcessCpuMicrosPerRequest)),14:F0} / {Percentiles.Median(raw.Select(m => m.ProcessCpuMicrosPerRequest)),4:F0}   "
                + $"{Percentiles.Median(ours.Select(m => m.GuestCpuMicrosPerRequest)),14:F0}   "
                + $"{oursTotal,12:F0} / {rawTotal,4:F0}   {rawTotal / oursTotal,8:F2}x");
            if (group.Key.CacheOn)
            {
                verdicts.Add(ratio >= Target
                    ? $"Cache on, {clientName}: GuestOps reaches {ratio:F2}x the raw echo (target >= {Target:F1}x met; CPU ratio {rawTotal / oursTotal:F2}x)."
                    : $"BELOW TARGET: with the credential cache, {clientName}: GuestOps reaches {ratio:F2}x the raw echo (target >= {Target:F1}x; CPU ratio {rawTotal / oursTotal:F2}x).");
            }
            else
            {
                verdicts.Add($"Cache off, {clientName}: {ratio:F2}x the raw echo (no target: every call runs PAM's SHA-512 crypt in the guest).");
            }

            var errors = group.Sum(r => r.Measurement.Errors);
            if (errors > 0)
            {
                verdicts.Add($"WARNING: {errors} failed or wrong-sized responses with the cache {(group.Key.CacheOn ? "on" : "off")} ({clientName}); figures are suspect.");
            }
        }

        Console.WriteLine("ratio = median GuestOps req/s / median raw req/s (spread: lowest-highest per-round ratio). server CPU = this process per request "
            + "(under wrk: the server alone; in-process: server + client). worker = both VMs' sandbox processes per request (the tools worker doing PAM, "
            + "impersonation and the listing). total = server + worker + wrk. CPU ratio = raw total / GuestOps total: what the ratio is on a saturated "
            + "machine whatever other load there is (all cores busy in both cases), so less sensitive to other engineers' builds than req/s.");
        if (breakdowns.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"Host agent alone (no HTTP, no SOAP: IHostAgent.InvokeGuestAsync with the same ListFilesRequest, {options.Connections} concurrent callers in this process):");
            foreach (var (cacheOn, b) in breakdowns)
            {
                Console.WriteLine($"  cache {(cacheOn ? "on " : "off")}: {b.RequestsPerSecond,8:F0} req/s  p50 {b.P50Ms,6:F2} ms  p99 {b.P99Ms,6:F2} ms  "
                    + $"this process {b.ProcessMicrosPerRequest,4:F0} us/req, worker {b.GuestMicrosPerRequest,4:F0} us/req{(b.Errors > 0 ? $"  ERRORS {b.Errors}" : "")}");
            }
        }

        Console.WriteLine();
        foreach (var line in verdicts)
        {
            Console.WriteLine(line);
        }

        return 0;
    }

    private static async Task<(List<ChainResult> Results, Breakdown? Breakdown)> RunCompositionAsync(
        BenchOptions options, string worker, IReadOnlyList<ClientKind> clients, bool cacheOn, DirectoryInfo scratch)
    {
        var ttl = cacheOn ? options.CacheSeconds : 0;
        Console.WriteLine($"== Composition: GuestOps:Provider=sandbox, 2 VMs, GuestCredentialCacheSeconds={ttl} (credential cache {(cacheOn ? "on" : "off")})");
        var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var operation = BenchOperation.ListFilesInGuest(VmId, options.GuestUser, password, ListedDirectory);
        var clock = Stopwatch.StartNew();
        await using var server = await BenchServer.StartAsync([operation], new BenchServerSettings
        {
            Provider = "sandbox",
            WorkerPath = worker,
            Password = password,
            GuestCredentialCacheSeconds = ttl,
        });
        var session = await server.LogInAsync();
        var readyAfter = await server.WaitForGuestsAsync(session, TimeSpan.FromSeconds(30));
        Console.WriteLine($"  Server {server.BaseAddress}, state {server.StateDirectory}; both VMs guest.guestOperationsReady {clock.Elapsed.TotalSeconds:F1} s after start "
            + $"({readyAfter.TotalMilliseconds:F0} ms after login)");

        var hostAgent = server.Services.GetRequiredService<HostAgent>();
        var guestPids = new List<int>();
        int? workerPid = null;
        foreach (var vm in session.VmIds)
        {
            var sandbox = hostAgent.GuestProcessId(vm) ?? throw new InvalidOperationException($"{vm} has no guest process.");
            guestPids.AddRange(ProcFs.Tree(sandbox));
            if (vm == VmId)
            {
                workerPid = ProcFs.FindInTree(sandbox, "guestops-tools") ?? throw new InvalidOperationException($"No guestops-tools process in {vm}'s sandbox.");
            }
        }

        var uidOffset = ProcFs.IdOffset(workerPid!.Value);
        var gidOffset = ProcFs.IdOffset(workerPid.Value, group: true);
        var entries = CreateListedDirectory(Path.Combine(server.StateDirectory, "vms", VmId, "guest"), uidOffset, gidOffset, options.Entries);
        Console.WriteLine($"  {VmId}: worker pid {workerPid} (guest uid 0 = host uid {uidOffset}); created {ListedDirectory} with {entries} through the host file system; "
            + $"CPU sampled from {guestPids.Count} sandbox processes of both VMs");

        var request = operation.Request(session);
        var size = await SettleAsync(server, request, options.Entries + 2);
        var (ours, raw, identical) = await server.PrepareRawEchoAsync(operation, request);
        Console.WriteLine($"  request {request.Body.Length} B; response GuestOps {ours} B, raw echo {raw} B{(identical ? " (byte-identical)" : " (DIFFERENT)")}; answer stable at {size} B");

        var results = new List<ChainResult>();
        foreach (var client in clients)
        {
            var wrk = new WrkLoad(options.WrkPath, options.WrkThreads, scratch);
            Task<Measurement> MeasureAsync(string path) => client == ClientKind.InProcess
                ? InProcessLoad.RunAsync(new Uri(server.BaseAddress, path), request, ours, options.Connections, options.Warmup, options.Duration, guestPids)
                : wrk.RunAsync(new Uri(server.BaseAddress, path), request, options.Connections, options.Warmup, options.Duration, guestPids);

            // Both endpoints get traffic before the first measurement (JIT tiering, dynamic PGO, the worker's caches),
            // until the server's JIT has gone quiet: on 2 cores the tiered-compilation thread otherwise still takes a
            // fifth of the CPU during the first rounds of /sdk, which has far more code to tier up than the raw echo.
            foreach (var (path, minimum) in new[] { (BenchServer.SdkPath, options.Warmup * 2), (operation.RawRoute, options.Warmup) })
            {
                var started = Stopwatch.GetTimestamp();
                var (chunks, quiet) = (0, false);
                while (!quiet && Stopwatch.GetElapsedTime(started) < MaxWarmup)
                {
                    var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
                    var chunk = chunks == 0 ? minimum : WarmupChunk;
                    if (client == ClientKind.InProcess)
                    {
                        await InProcessLoad.RunAsync(new Uri(server.BaseAddress, path), request, ours, options.Connections, chunk, TimeSpan.FromMilliseconds(100));
                    }
                    else
                    {
                        await wrk.RunAsync(new Uri(server.BaseAddress, path), request, options.Connections, TimeSpan.Zero, chunk);
                    }

                    chunks++;
                    quiet = chunks > 1 && System.Runtime.JitInfo.GetCompiledMethodCount() - compiled <= QuietJitMethods;
                }

                Console.WriteLine($"  warm-up {path}: {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s, "
                    + (quiet ? $"until the JIT compiled at most {QuietJitMethods} methods in {WarmupChunk.TotalSeconds:F0} s" : $"JIT still busy after {MaxWarmup.TotalSeconds:F0} s")
                    + $" ({System.Runtime.JitInfo.GetCompiledMethodCount()} methods compiled in all)");
            }

            for (var round = 1; round <= options.Rounds; round++)
            {
                foreach (var side in new[] { Side.GuestOps, Side.RawEcho })
                {
                    var path = side == Side.GuestOps ? BenchServer.SdkPath : operation.RawRoute;
                    var m = await MeasureAsync(path);
                    for (var retry = 1; retry <= options.BusyRetries && m.Cpu.OtherCores > BusyThreshold; retry++)
                    {
                        Console.WriteLine($"  round {round} {Name(side),-9} machine busy ({m.Cpu.OtherCores:F2} other cores, {m.RequestsPerSecond:F0} req/s): measuring again");
                        var next = await MeasureAsync(path);
                        m = next.Cpu.OtherCores < m.Cpu.OtherCores ? next : m;
                    }

                    results.Add(new ChainResult(client, cacheOn, side, round, m));
                    Console.WriteLine(
                        $"  {(client == ClientKind.InProcess ? "inproc" : "wrk"),-6} round {round} {Name(side),-9} {m.RequestsPerSecond,8:F0} req/s  p50 {m.P50Ms,6:F2} ms  p99 {m.P99Ms,6:F2} ms  "
                        + $"CPU/req: total {m.TotalCpuMicrosPerRequest,4:F0} us = server {m.ProcessCpuMicrosPerRequest,3:F0} ({m.Cpu.ProcessCores:F2} cores) + worker {m.GuestCpuMicrosPerRequest,4:F0} ({m.Cpu.GuestCores:F2} cores)"
                        + $"{(client == ClientKind.Wrk ? $" + wrk ({m.Cpu.ChildCores:F2} cores)" : "")}; other {m.Cpu.OtherCores:F2} cores"
                        + (m.Cpu.OtherCores > BusyThreshold ? "  (machine busy)" : "")
                        + (m.Errors > 0 ? $"  ERRORS {m.Errors}" : ""));
                }
            }
        }

        var memory = ProcFs.Memory(workerPid.Value);
        Console.WriteLine($"  {VmId} worker after the load: VmRSS {ProcessMemory.MiB(memory.VmRssKiB):F1} MiB (RssAnon {ProcessMemory.MiB(memory.RssAnonKiB):F1} MiB), "
            + $"peak VmHWM {ProcessMemory.MiB(memory.VmHwmKiB):F1} MiB, {memory.Threads} threads");

        Breakdown? breakdown = null;
        if (options.Profile)
        {
            var listRequest = new ListFilesRequest { Path = ListedDirectory, Credential = new GuestPasswordCredential(options.GuestUser, password) };
            breakdown = await HostAgentAloneAsync(hostAgent, listRequest, options.Entries + 2, options.Connections, TimeSpan.FromSeconds(1),
                TimeSpan.FromSeconds(Math.Min(3, options.Duration.TotalSeconds)), guestPids);
            Console.WriteLine($"  host agent alone (no HTTP/SOAP) {breakdown.RequestsPerSecond,8:F0} req/s  p50 {breakdown.P50Ms,6:F2} ms  p99 {breakdown.P99Ms,6:F2} ms  "
                + $"this process {breakdown.ProcessMicrosPerRequest,4:F0} us/req, worker {breakdown.GuestMicrosPerRequest,4:F0} us/req, other {breakdown.OtherCores:F2} cores");
        }

        return (results, breakdown);
    }

    /// <summary>Creates the listed directory in the guest through the host file system, owned as the guest sees it
    /// (guest id N is host id offset + N): directories, files and symlinks, all with fixed whole-second times.</summary>
    private static string CreateListedDirectory(string guestRoot, int uidOffset, int gidOffset, int count)
    {
        string Host(string guestPath) => Path.Combine(guestRoot, guestPath.TrimStart('/'));
        void Own(string path, int uid) => ProcFs.Chown(path, uidOffset + uid, gidOffset + uid);

        var parent = Host(ParentDirectory);
        var list = Host(ListedDirectory);
        Directory.CreateDirectory(list);
        File.SetUnixFileMode(parent, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(list, (UnixFileMode)0b111_101_101);
        Own(parent, 0);
        Own(list, DemoUid);

        var directories = count * 3 / 20;
        var links = count * 3 / 20;
        var files = count - directories - links;
        for (var i = 1; i <= files; i++)
        {
            var path = Path.Combine(list, $"file-{i:00}.txt");
            File.WriteAllText(path, new string('x', i * 97));
            File.SetUnixFileMode(path, (UnixFileMode)(i % 4 == 0 ? 0b110_000_000 : 0b110_100_100));
            Own(path, i == 1 ? 0 : DemoUid);
            SetTimes(path);
        }

        for (var i = 1; i <= directories; i++)
        {
            var path = Path.Combine(list, $"dir-{i}");
            Directory.CreateDirectory(path);
            File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
            Own(path, DemoUid);
            SetTimes(path);
        }

        for (var i = 1; i <= links; i++)
        {
            var path = Path.Combine(list, $"link-{i}");
            File.CreateSymbolicLink(path, i % 2 == 1 ? $"file-{i:00}.txt" : $"dir-{Math.Max(1, directories)}");
            Own(path, DemoUid);
        }

        SetTimes(list);
        SetTimes(parent);
        return $"{files} files, {directories} directories, {links} symlinks";
    }

    private static void SetTimes(string path)
    {
        File.SetLastWriteTimeUtc(path, FixedTime);
        File.SetLastAccessTimeUtc(path, FixedTime);
    }

    /// <summary>Calls until two answers in a row are the same bytes (the first listing may update access times once,
    /// relatime) and checks the answer lists every entry; returns its size.</summary>
    private static async Task<int> SettleAsync(BenchServer server, SoapRequest request, int expectedEntries)
    {
        byte[]? previous = null;
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            var (status, body) = await server.SendAsync(request);
            if (status != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"ListFilesInGuest answered {(int)status}: {System.Text.Encoding.UTF8.GetString(body)}");
            }

            var info = XDocument.Parse(System.Text.Encoding.UTF8.GetString(body)).Descendants(Vim + "returnval").Single();
            var listed = info.Elements(Vim + "files").Count();
            if (listed != expectedEntries || (string?)info.Element(Vim + "remaining") != "0")
            {
                throw new InvalidOperationException($"ListFilesInGuest listed {listed} entries (expected {expectedEntries}) with remaining {(string?)info.Element(Vim + "remaining")}.");
            }

            if (previous is not null && previous.AsSpan().SequenceEqual(body))
            {
                return body.Length;
            }

            previous = body;
            await Task.Delay(50);
        }

        throw new InvalidOperationException("ListFilesInGuest does not answer the same bytes twice in a row; the raw echo could not replay a same-size answer.");
    }

    /// <summary>The chain without the front end: IHostAgent.InvokeGuestAsync (dispatcher, channel, worker) from N
    /// concurrent loops in this process.</summary>
    private static async Task<Breakdown> HostAgentAloneAsync(IHostAgent hostAgent, ListFilesRequest request, int expectedEntries, int callers, TimeSpan warmup, TimeSpan duration, IReadOnlyList<int> guestPids)
    {
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var measureTo = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var loops = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<long>();
            long errors = 0;
            while (Stopwatch.GetTimestamp() < measureTo)
            {
                var sent = Stopwatch.GetTimestamp();
                bool ok;
                try
                {
                    var response = await hostAgent.InvokeGuestAsync(VmId, request, CancellationToken.None);
                    ok = response.Result is ListFilesResult r && r.Entries.Count == expectedEntries;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    ok = false;
                }

                var done = Stopwatch.GetTimestamp();
                if (done >= measureFrom && done <= measureTo)
                {
                    if (ok)
                    {
                        latencies.Add(done - sent);
                    }
                    else
                    {
                        errors++;
                    }
                }
            }

            return (latencies, errors);
        })).ToArray();

        var wait = measureFrom - Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, (double)wait / Stopwatch.Frequency)));
        var cpu = CpuMeter.Start(guestPids);
        wait = measureTo - Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, (double)wait / Stopwatch.Frequency)));
        var sample = cpu.Stop();
        var done = await Task.WhenAll(loops);
        var all = done.SelectMany(d => d.latencies).ToArray();
        Array.Sort(all);
        var m = new Measurement(all.LongLength, duration.TotalSeconds, Percentiles.Milliseconds(all, 50), Percentiles.Milliseconds(all, 99), done.Sum(d => d.errors), sample);
        return new Breakdown(m.RequestsPerSecond, m.P50Ms, m.P99Ms, m.ProcessCpuMicrosPerRequest, m.GuestCpuMicrosPerRequest, sample.OtherCores, m.Errors);
    }

    private static string Name(Side side) => side == Side.GuestOps ? "GuestOps" : "raw echo";

    private sealed record ChainResult(ClientKind Client, bool CacheOn, Side Side, int Round, Measurement Measurement);

    private sealed record Breakdown(double RequestsPerSecond, double P50Ms, double P99Ms, double ProcessMicrosPerRequest, double GuestMicrosPerRequest, double OtherCores, long Errors);
}
