using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GuestOps.Reliability.Infrastructure;
using GuestOps.Reliability.Load;

namespace GuestOps.Reliability.Scale;

/// <summary>The scale run's settings.</summary>
/// <param name="Measure">False: the correctness check only (every VM ready and answering, no error), no throughput
/// rounds and no ratio: what the test suite runs.</param>
internal sealed record ScaleOptions(int Vms, int Callers, TimeSpan Duration, int Rounds, TimeSpan Warmup, int CredentialCacheSeconds, double MaxDeviation, string? ServerDll, bool Measure = true);

/// <summary>
/// The scale run (issue 9): one host agent (the server, a child process) with many sandboxed VMs. Measures the time
/// until all are ready, the memory of the server and of the workers, and the throughput of ListFilesInGuest with
/// <c>callers</c> concurrent clients aimed at one VM against the same clients spread over every VM (round robin per
/// call), alternating over several rounds (medians compared). Exit code 0 when every VM became ready, no call failed
/// and the spread throughput is at least (1 - <c>MaxDeviation</c>) of the one-VM throughput (whether it is within
/// ±<c>MaxDeviation</c> is printed). With <c>--measure false</c> only the first part: every VM ready, one
/// ListFilesInGuest answered by each, no internal error.
/// </summary>
internal static class ScaleCommand
{
    public static async Task<int> RunAsync(ScaleOptions options)
    {
        var serverDll = ChildServer.FindServerDll(options.ServerDll);
        if (serverDll is null)
        {
            Console.WriteLine("GuestOps.Server.dll not found: build the solution (dotnet build GuestOps.sln -c Release) or pass --server-dll.");
            return 2;
        }

        Console.WriteLine($"scale: {options.Vms} sandboxed VMs, {options.Callers} callers, {options.Rounds} rounds of {options.Duration.TotalSeconds:0} s per side after {options.Warmup.TotalSeconds:0} s of warm-up, credential cache {options.CredentialCacheSeconds} s");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        var clock = Stopwatch.StartNew();
        await using var server = await ChildServer.StartAsync(serverDll, options.Vms, "scale-vm",
            [$"--GuestOps:GuestCredentialCacheSeconds={options.CredentialCacheSeconds.ToString(CultureInfo.InvariantCulture)}"], TimeSpan.FromSeconds(120));
        var serving = clock.Elapsed;
        using var setup = new VimCaller(server.BaseUri, TimeSpan.FromSeconds(60));
        await setup.LoginAsync(ChildServer.RootPassword, CancellationToken.None);
        var readyOk = true;
        try
        {
            await LoadCommand.WaitAllReadyAsync(setup, options.Vms, TimeSpan.FromSeconds(Math.Max(60, options.Vms)));
        }
        catch (TimeoutException e)
        {
            Console.WriteLine($"NOT READY: {e.Message}");
            readyOk = false;
        }

        var allReady = clock.Elapsed;
        Console.WriteLine($"server serving {serving.TotalSeconds:0.00} s after start; all {options.Vms} VMs ready {allReady.TotalSeconds:0.00} s after start");
        if (!readyOk)
        {
            Console.WriteLine(server.Tail);
            return 1;
        }

        var workers = WorkerMemory(server.StateDirectory);
        Console.WriteLine($"memory when ready: server RSS {server.ResidentMiB():0} MiB; {workers.Count} workers, RSS p50 {Median(workers):0.0} MiB, sum {workers.Sum():0} MiB (shared pages counted in each)");

        var callers = Enumerable.Range(0, options.Callers).Select(_ => new VimCaller(server.BaseUri, TimeSpan.FromSeconds(60))).ToList();
        await Task.WhenAll(callers.Select(c => c.LoginAsync(ChildServer.RootPassword, CancellationToken.None)));

        // Warm every VM once (its first call per user runs PAM; later ones use the credential cache when it is on).
        var answered = 0;
        var failed = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(1, options.Vms), new ParallelOptions { MaxDegreeOfParallelism = options.Callers }, async (vm, ct) =>
        {
            try
            {
                await callers[vm % callers.Count].ListFilesAsync($"vm-{vm}", "/tmp", ct);
                Interlocked.Increment(ref answered);
            }
            catch (Exception e) when (e is VimCallException or HttpRequestException or TaskCanceledException)
            {
                failed.Add($"vm-{vm}: {e.Message}");
            }
        });
        Console.WriteLine($"ListFilesInGuest answered by {answered} of {options.Vms} VMs{(failed.IsEmpty ? "" : ": " + string.Join("; ", failed.Take(5)))}");
        if (!options.Measure || !failed.IsEmpty)
        {
            foreach (var c in callers)
            {
                c.Dispose();
            }

            var correct = failed.IsEmpty && server.InternalErrors == 0;
            Console.WriteLine($"server internal errors logged: {server.InternalErrors}");
            Console.WriteLine("RESULT " + JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["ok"] = correct,
                ["vms"] = options.Vms,
                ["ready"] = options.Vms,
                ["answered"] = answered,
                ["errors"] = failed.Count,
                ["internalErrors"] = server.InternalErrors,
            }));
            return correct ? 0 : 1;
        }

        // Then both loads until the server's JIT has tiered the paths up; without it the first round's one-VM side ran at
        // half speed (the server's tiered-compilation thread busy) and flattered the first ratio.
        var warm = 0L;
        await MeasureAsync(callers, _ => "vm-1", options.Warmup / 2);
        await MeasureAsync(callers, _ => $"vm-{(Interlocked.Increment(ref warm) % options.Vms) + 1}", options.Warmup / 2);

        var workerPids = WorkerPids(server.StateDirectory);
        var one = new List<double>();
        var spread = new List<double>();
        var errors = 0L;
        for (var round = 1; round <= options.Rounds; round++)
        {
            var a = await MeasureAsync(callers, _ => "vm-1", options.Duration, server.ProcessId, workerPids);
            var n = 0L;
            var b = await MeasureAsync(callers, _ => $"vm-{(Interlocked.Increment(ref n) % options.Vms) + 1}", options.Duration, server.ProcessId, workerPids);
            one.Add(a.OpsPerSecond);
            spread.Add(b.OpsPerSecond);
            errors += a.Errors + b.Errors;
            Console.WriteLine($"round {round}: one VM {a.OpsPerSecond,7:0} ops/s (p50 {a.P50:0.0} ms, p99 {a.P99:0.0} ms, machine {a.BusyCores:0.00} cores busy, CPU/op server {a.ServerMicrosPerOp:0} us + workers {a.WorkerMicrosPerOp:0} us); spread over {options.Vms} {b.OpsPerSecond,7:0} ops/s (p50 {b.P50:0.0} ms, p99 {b.P99:0.0} ms, machine {b.BusyCores:0.00} cores, CPU/op server {b.ServerMicrosPerOp:0} us + workers {b.WorkerMicrosPerOp:0} us); ratio {b.OpsPerSecond / a.OpsPerSecond:0.00}{(a.Errors + b.Errors > 0 ? $"; ERRORS {a.Errors + b.Errors}" : "")}");
        }

        foreach (var c in callers)
        {
            c.Dispose();
        }

        var ratio = Median(spread) / Median(one);
        // Spreading must not cost more than MaxDeviation; spread faster than one VM is no failure (only reported).
        var within = Math.Abs(ratio - 1) <= options.MaxDeviation;
        var passed = ratio >= 1 - options.MaxDeviation && errors == 0;
        workers = WorkerMemory(server.StateDirectory);
        Console.WriteLine($"median: one VM {Median(one):0} ops/s, spread {Median(spread):0} ops/s, ratio {ratio:0.00} ({(within ? "within" : "NOT within")} {options.MaxDeviation:P0}); errors {errors}");
        Console.WriteLine($"memory after the load: server RSS {server.ResidentMiB():0} MiB; workers RSS p50 {Median(workers):0.0} MiB; server internal errors logged: {server.InternalErrors}");
        if (Environment.GetEnvironmentVariable("GUESTOPS_RELIABILITY_HOLD_SECONDS") is { } hold)
        {
            // Diagnostics: keep the server up (e.g. for dotnet-gcdump of pid server.ProcessId) before it is stopped.
            Console.WriteLine($"holding the server (pid {server.ProcessId}) for {hold} s");
            await Task.Delay(TimeSpan.FromSeconds(double.Parse(hold, CultureInfo.InvariantCulture)));
        }

        Console.WriteLine("RESULT " + JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["ok"] = passed && server.InternalErrors == 0,
            ["within"] = within,
            ["vms"] = options.Vms,
            ["readySeconds"] = Math.Round(allReady.TotalSeconds, 2),
            ["oneVmOpsPerSecond"] = Math.Round(Median(one)),
            ["spreadOpsPerSecond"] = Math.Round(Median(spread)),
            ["ratio"] = Math.Round(ratio, 3),
            ["errors"] = errors,
            ["internalErrors"] = server.InternalErrors,
        }));
        return passed && server.InternalErrors == 0 ? 0 : 1;
    }

    private static async Task<(double OpsPerSecond, double P50, double P99, long Errors, double BusyCores, double ServerCores, double WorkerMicrosPerOp, double ServerMicrosPerOp)> MeasureAsync(List<VimCaller> callers, Func<int, string> vm, TimeSpan duration, int serverPid = 0, IReadOnlyList<int>? workerPids = null)
    {
        var latencies = new Latencies();
        long errors = 0;
        var deadline = DateTime.UtcNow + duration;
        var (busyBefore, totalBefore) = MachineCpu();
        var serverBefore = serverPid == 0 ? 0 : ProcFs.CpuSeconds(serverPid);
        var workersBefore = (workerPids ?? []).Sum(ProcFs.CpuSeconds);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(callers.Select((c, i) => Task.Run(async () =>
        {
            while (DateTime.UtcNow < deadline)
            {
                var call = Stopwatch.StartNew();
                try
                {
                    await c.ListFilesAsync(vm(i), "/tmp", CancellationToken.None);
                    latencies.Add(call.Elapsed);
                }
                catch (Exception e) when (e is VimCallException or HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var (busyAfter, totalAfter) = MachineCpu();
        var busyCores = (busyAfter - busyBefore) / Math.Max(1, totalAfter - totalBefore) * Environment.ProcessorCount;
        var serverCpu = serverPid == 0 ? 0 : ProcFs.CpuSeconds(serverPid) - serverBefore;
        var workersCpu = (workerPids ?? []).Sum(ProcFs.CpuSeconds) - workersBefore;
        var ops = Math.Max(1, latencies.Count);
        return (latencies.Count / seconds, latencies.Percentile(0.5), latencies.Percentile(0.99), errors, busyCores, serverCpu / seconds, workersCpu / ops * 1e6, serverCpu / ops * 1e6);
    }

    /// <summary>Busy and total jiffies of the whole machine (/proc/stat).</summary>
    private static (double Busy, double Total) MachineCpu()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var total = fields.Take(8).Sum();
        return (total - fields[3] - fields[4], total);
    }

    private static List<double> WorkerMemory(string stateDirectory) => WorkerPids(stateDirectory).Select(ProcFs.ResidentMiB).ToList();

    /// <summary>Every tools worker of this server (guestops-tools whose parent bwrap names its state directory).</summary>
    private static List<int> WorkerPids(string stateDirectory)
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var exe = new FileInfo($"/proc/{pid}/exe").LinkTarget;
                if (exe is null || !Path.GetFileName(exe).StartsWith("guestops-tools", StringComparison.Ordinal))
                {
                    continue;
                }

                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var parent = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1];
                if (File.ReadAllText($"/proc/{parent}/cmdline").Contains(stateDirectory, StringComparison.Ordinal))
                {
                    result.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return result;
    }

    private static double Median(IReadOnlyCollection<double> values) =>
        values.Count == 0 ? double.NaN : values.Order().ElementAt(values.Count / 2);
}
