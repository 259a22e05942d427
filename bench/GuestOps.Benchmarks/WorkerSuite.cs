using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Host;
using GuestOps.Host.Providers;

namespace GuestOps.Benchmarks;

/// <summary>
/// Issue 3's worker acceptance point: the NativeAOT guestops-tools binary's start to ready time and idle RSS.
/// <para>
/// Direct runs: the benchmark is the host end of the channel. For each run it opens a unix-socket
/// <see cref="UnixSocketChannelListener"/>, starts <c>guestops-tools --connect unix:PATH</c> as a child process (as
/// root, so the worker sets up its impersonation threads as it does as guest root in a sandbox) and completes the
/// channel handshake with <see cref="ChannelConnection.EstablishAsync"/> (role Host). Start to ready = from just before
/// <see cref="Process.Start()"/> to the worker's hello received and the handshake complete. The workers stay connected
/// (heartbeats every second, as under the dispatcher); when the last one has been idle for <c>--idle</c> seconds, each
/// one's VmRSS, RssAnon, RssFile and Pss are read from /proc. The worker needs no PAM for this: it authenticates on calls.
/// </para>
/// <para>
/// Sandbox runs (informational, not the target): what powering a simulated VM on costs, through the real
/// <see cref="SandboxVmProvider"/>: guest image preparation (accounts with SHA-512 crypt hashes), unshare with the
/// user-namespace mapping (newuidmap), bubblewrap with its namespaces and mounts, then the same worker.
/// </para>
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static partial class WorkerSuite
{
    private const double StartTargetMs = 100;
    private const double RssTargetMiB = 20;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var worker = WorkerBinary.Resolve(options.WorkerPath);
        if (worker is null)
        {
            Console.WriteLine(WorkerBinary.NotFoundMessage(options.WorkerPath));
            return 3;
        }

        Console.WriteLine("GuestOps benchmark: tools worker (guestops-tools) start to ready and idle memory");
        Console.WriteLine(BenchMachine.Describe());
        Console.WriteLine($"Worker: {WorkerBinary.Describe(worker)}");
        Console.WriteLine($"Targets: start to ready <= {StartTargetMs:F0} ms, idle RSS <= {RssTargetMiB:F0} MiB.");
        Console.WriteLine();

        var verdicts = new List<string>();
        var scratch = Directory.CreateTempSubdirectory("guestops-bench-worker-");
        File.SetUnixFileMode(scratch.FullName, (UnixFileMode)0b111_101_101);
        try
        {
            await DirectAsync(worker, options, scratch.FullName, verdicts);
            if (options.SandboxRuns > 0)
            {
                Console.WriteLine();
                if (SandboxVmProvider.IsAvailable())
                {
                    await SandboxAsync(worker, options, scratch.FullName);
                }
                else
                {
                    Console.WriteLine("Sandbox runs skipped: /usr/bin/bwrap is not installed.");
                }
            }
        }
        finally
        {
            try
            {
                scratch.Delete(recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Load average after the runs: {ProcFs.LoadAverage()}");
        foreach (var line in verdicts)
        {
            Console.WriteLine(line);
        }

        return 0;
    }

    private static async Task DirectAsync(string worker, BenchOptions options, string scratch, List<string> verdicts)
    {
        Console.WriteLine($"== Direct: {options.WorkerRuns} starts of the worker, one after another, each against its own unix-socket listener in this process (host role); "
            + $"all stay connected, then idle {options.Idle.TotalSeconds:0.#} s before their memory is read");
        var runs = new List<DirectRun>();
        try
        {
            // One start that is not counted: it JIT-compiles this process's side (Process.Start, the listener, the
            // channel handshake), which would otherwise be billed to the first worker.
            var warm = await StartDirectAsync(worker, Path.Combine(scratch, "warm-up.sock"));
            Console.WriteLine($"  warm-up start (not counted): ready {warm.ReadyMs:F1} ms");
            await warm.StopAsync();

            for (var i = 0; i < options.WorkerRuns; i++)
            {
                var run = await StartDirectAsync(worker, Path.Combine(scratch, $"w{i}.sock"));
                runs.Add(run);
                Console.WriteLine(
                    $"  run {i + 1,2}: process started {run.SpawnMs,5:F1} ms, connected {run.ConnectedMs,6:F1} ms, ready (hello received) {run.ReadyMs,6:F1} ms"
                    + (run.WorkerOwnReadyMs is { } ownMs ? $"   (worker's own log: ready {ownMs:F1} ms after its Main)" : ""));
            }

            await Task.Delay(options.Idle);
            foreach (var run in runs)
            {
                run.Memory = ProcFs.Memory(run.Process.Id);
            }
        }
        finally
        {
            foreach (var run in runs)
            {
                await run.StopAsync();
            }
        }

        var ready = runs.Select(r => r.ReadyMs).ToArray();
        var memory = runs.Select(r => r.Memory!).ToArray();
        Console.WriteLine();
        Console.WriteLine($"  start to ready (hello received), {runs.Count} starts:  p50 {Pct(ready, 50):F1} ms   p90 {Pct(ready, 90):F1} ms   max {ready.Max():F1} ms   min {ready.Min():F1} ms   (first start {ready[0]:F1} ms)");
        var own = runs.Where(r => r.WorkerOwnReadyMs is not null).Select(r => r.WorkerOwnReadyMs!.Value).ToArray();
        if (own.Length > 0)
        {
            Console.WriteLine($"    of which exec + runtime start before the worker's Main: ~{Pct(ready, 50) - Pct(own, 50):F1} ms; Main to connected and handshake done (worker's own log): p50 {Pct(own, 50):F1} ms");
        }

        PrintMemory(memory, "  ");
        var p90 = Pct(ready, 90);
        verdicts.Add(p90 <= StartTargetMs
            ? $"Start to ready: p90 {p90:F1} ms <= {StartTargetMs:F0} ms (target met; max {ready.Max():F1} ms)."
            : $"BELOW TARGET: start to ready p90 {p90:F1} ms > {StartTargetMs:F0} ms.");
        var rss = memory.Max(m => m.VmRssKiB) / 1024.0;
        verdicts.Add(rss <= RssTargetMiB
            ? $"Idle RSS: at most {rss:F1} MiB VmRSS <= {RssTargetMiB:F0} MiB (target met)."
            : $"BELOW TARGET: idle RSS up to {rss:F1} MiB VmRSS > {RssTargetMiB:F0} MiB.");
    }

    private static async Task<DirectRun> StartDirectAsync(string worker, string socket)
    {
        var listener = UnixSocketChannelListener.Start(socket);
        var start = new ProcessStartInfo(worker)
        {
            UseShellExecute = false,
            RedirectStandardError = true, // its log: the "ready ... ms after start" line
            RedirectStandardOutput = true,
        };
        foreach (var arg in new[] { "--connect", "unix:" + socket, "--log-level", "information" })
        {
            start.ArgumentList.Add(arg);
        }

        var ownReady = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var t0 = Stopwatch.GetTimestamp();
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {worker}.");
        var spawned = Stopwatch.GetTimestamp();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && ReadyLine().Match(line) is { Success: true } m)
            {
                ownReady.TrySetResult(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var transport = await listener.AcceptAsync(timeout.Token);
        var connected = Stopwatch.GetTimestamp();
        var connection = await ChannelConnection.EstablishAsync(transport.Stream, HostOptions(), timeout.Token);
        var readyAt = Stopwatch.GetTimestamp();
        double? own = null;
        try
        {
            own = await ownReady.Task.WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (TimeoutException)
        {
        }

        return new DirectRun(process, listener, connection, Ms(t0, spawned), Ms(t0, connected), Ms(t0, readyAt), own);
    }

    private static async Task SandboxAsync(string worker, BenchOptions options, string scratch)
    {
        var provider = new SandboxVmProvider();
        Console.WriteLine($"== Sandbox (informational): {options.SandboxRuns} VM power-ons through the real SandboxVmProvider, one after another; start to ready includes guest image preparation, "
            + (provider.UsesUserNamespace ? "unshare --user (newuidmap) and bubblewrap" : "bubblewrap (no user namespace: no root range in /etc/subuid or no uidmap)"));
        var runs = new List<SandboxRun>();
        try
        {
            for (var i = 0; i < options.SandboxRuns; i++)
            {
                var run = await StartSandboxAsync(provider, worker, scratch, i);
                runs.Add(run);
                Console.WriteLine($"  run {i + 1,2}: guest image prepared in {run.PrepareMs,5:F1} ms (separately); power-on to ready {run.ReadyMs,6:F1} ms; worker pid {run.WorkerPid?.ToString(CultureInfo.InvariantCulture) ?? "?"}, guest uid 0 = host uid {run.UidOffset}");
            }

            await Task.Delay(options.Idle);
            foreach (var run in runs.Where(r => r.WorkerPid is not null))
            {
                run.Memory = ProcFs.Memory(run.WorkerPid!.Value);
            }
        }
        finally
        {
            foreach (var run in runs)
            {
                await run.StopAsync();
            }
        }

        var ready = runs.Select(r => r.ReadyMs).ToArray();
        var prepare = runs.Select(r => r.PrepareMs).ToArray();
        Console.WriteLine();
        Console.WriteLine($"  power-on to ready, {runs.Count} sandboxes:  p50 {Pct(ready, 50):F1} ms   p90 {Pct(ready, 90):F1} ms   max {ready.Max():F1} ms   "
            + $"(guest image preparation alone: p50 {Pct(prepare, 50):F1} ms)");
        var memory = runs.Where(r => r.Memory is not null).Select(r => r.Memory!).ToArray();
        if (memory.Length > 0)
        {
            PrintMemory(memory, "  ");
        }
    }

    private static async Task<SandboxRun> StartSandboxAsync(SandboxVmProvider provider, string worker, string scratch, int index)
    {
        var id = $"bench-sb-{index + 1}";
        var vmDirectory = Path.Combine(scratch, "vms", id);
        var channel = Path.Combine(vmDirectory, "channel");
        Directory.CreateDirectory(channel);
        foreach (var dir in new[] { Path.Combine(scratch, "vms"), vmDirectory, channel })
        {
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        }

        var listener = UnixSocketChannelListener.Start(Path.Combine(channel, "channel.sock"), (UnixFileMode)0b110_110_110);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var launch = new VmLaunch(
            id,
            [new GuestAccount("root", password, 0), new GuestAccount("demo", password, 1000)],
            Path.Combine(vmDirectory, "guest"),
            channel,
            worker,
            index,
            ["--log-level", "warning"]);

        // The provider prepares the image itself; timing one preparation apart shows its share.
        var p0 = Stopwatch.GetTimestamp();
        GuestImage.Prepare(launch, provider.HostIdOffset(index));
        var prepareMs = Ms(p0, Stopwatch.GetTimestamp());

        var t0 = Stopwatch.GetTimestamp();
        var process = provider.Start(launch);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var transport = await listener.AcceptAsync(timeout.Token);
        var connection = await ChannelConnection.EstablishAsync(transport.Stream, HostOptions(), timeout.Token);
        var readyMs = Ms(t0, Stopwatch.GetTimestamp());
        var workerPid = ProcFs.FindInTree(process.Id, "guestops-tools");
        var offset = workerPid is { } pid ? ProcFs.IdOffset(pid) : -1;
        return new SandboxRun(process, listener, connection, prepareMs, readyMs, workerPid, offset);
    }

    private static ChannelConnectionOptions HostOptions() => new()
    {
        Role = ChannelRole.Host,
        Software = "GuestOps.Benchmarks",
    };

    private static void PrintMemory(IReadOnlyList<ProcessMemory> memory, string indent)
    {
        string Row(string name, Func<ProcessMemory, long> pick)
        {
            var values = memory.Select(m => pick(m) / 1024.0).ToArray();
            return $"{indent}  {name,-34} p50 {Pct(values, 50),5:F1} MiB   max {values.Max(),5:F1} MiB   min {values.Min(),5:F1} MiB";
        }

        Console.WriteLine($"{indent}idle memory of {memory.Count} connected workers (/proc/PID/status, smaps_rollup):");
        Console.WriteLine(Row("VmRSS (resident, all)", m => m.VmRssKiB));
        Console.WriteLine(Row("RssAnon (heap, stacks: private)", m => m.RssAnonKiB));
        Console.WriteLine(Row("RssFile (binary, libs: shared)", m => m.RssFileKiB));
        Console.WriteLine(Row("Pss (proportional share)", m => m.PssKiB));
        Console.WriteLine(Row("Private (clean + dirty)", m => m.PrivateKiB));
        Console.WriteLine(Row("VmHWM (peak resident)", m => m.VmHwmKiB));
        Console.WriteLine($"{indent}  threads: {string.Join(", ", memory.Select(m => m.Threads).Distinct().Order())}");
    }

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private static double Pct(IReadOnlyList<double> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        var index = (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }

    [GeneratedRegex(@"ready ([0-9]+(?:\.[0-9]+)?) ms after start")]
    private static partial Regex ReadyLine();

    private sealed class DirectRun(Process process, UnixSocketChannelListener listener, ChannelConnection connection, double spawnMs, double connectedMs, double readyMs, double? workerOwnReadyMs)
    {
        public Process Process { get; } = process;

        public double SpawnMs { get; } = spawnMs;

        public double ConnectedMs { get; } = connectedMs;

        public double ReadyMs { get; } = readyMs;

        public double? WorkerOwnReadyMs { get; } = workerOwnReadyMs;

        public ProcessMemory? Memory { get; set; }

        public async Task StopAsync()
        {
            // SIGTERM first: the worker says goodbye and exits instead of seeing the host vanish and reconnecting.
            ProcFs.Terminate(Process.Id);
            await StopProcessAsync(Process);
            await connection.DisposeAsync();
            await listener.DisposeAsync();
        }
    }

    private sealed class SandboxRun(Process process, UnixSocketChannelListener listener, ChannelConnection connection, double prepareMs, double readyMs, int? workerPid, int uidOffset)
    {
        public double PrepareMs { get; } = prepareMs;

        public double ReadyMs { get; } = readyMs;

        public int? WorkerPid { get; } = workerPid;

        public int UidOffset { get; } = uidOffset;

        public ProcessMemory? Memory { get; set; }

        public async Task StopAsync()
        {
            if (WorkerPid is { } pid)
            {
                ProcFs.Terminate(pid);
            }

            await StopProcessAsync(process); // the sandbox ends with its worker
            await connection.DisposeAsync();
            await listener.DisposeAsync();
        }
    }

    private static async Task StopProcessAsync(Process process)
    {
        using (process)
        {
            try
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(3));
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }
}
