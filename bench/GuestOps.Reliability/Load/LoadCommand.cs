using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using GuestOps.Reliability.Infrastructure;

namespace GuestOps.Reliability.Load;

/// <summary>The load run's settings.</summary>
internal sealed record LoadOptions(TimeSpan Duration, int Callers, int Vms, int CredentialCacheSeconds, int MaxFileBytes, int Seed, string? ServerDll);

/// <summary>
/// The load run (issue 9): one server (a child process) with sandboxed VMs, <c>callers</c> concurrent vSphere clients
/// for a bounded time, each with its own session, VM (round robin) and guest directory, doing a mix of ListFilesInGuest,
/// StartProgramInGuest, ListProcessesInGuest, uploads, downloads and DeleteFileInGuest. Every download is checked
/// against the SHA-256 of what was uploaded; at the end every file still expected is downloaded and checked again and
/// each directory is listed (nothing lost, nothing left over). Prints ops/s, p50/p99 per operation, faults by type and
/// the server's RSS over time. Exit code 0 only with zero faults, zero corrupt or lost files and no internal error
/// logged by the server.
/// </summary>
internal static class LoadCommand
{
    private static readonly (string Name, int Weight)[] Mix =
    [
        ("list", 20), ("start", 15), ("list-processes", 15), ("upload", 20), ("download", 20), ("delete", 10),
    ];

    public static async Task<int> RunAsync(LoadOptions options)
    {
        var serverDll = ChildServer.FindServerDll(options.ServerDll);
        if (serverDll is null)
        {
            Console.WriteLine("GuestOps.Server.dll not found: build the solution (dotnet build GuestOps.sln -c Release) or pass --server-dll.");
            return 2;
        }

        Console.WriteLine($"load: {options.Callers} callers, {options.Vms} sandboxed VMs, {options.Duration.TotalSeconds:0} s, files up to {options.MaxFileBytes / 1024} KiB, credential cache {options.CredentialCacheSeconds} s, seed {options.Seed}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; server {serverDll}");
        var started = Stopwatch.StartNew();
        await using var server = await ChildServer.StartAsync(serverDll, options.Vms, "load-vm",
            [$"--GuestOps:GuestCredentialCacheSeconds={options.CredentialCacheSeconds.ToString(CultureInfo.InvariantCulture)}"], TimeSpan.FromSeconds(60));
        using (var setup = new VimCaller(server.BaseUri, TimeSpan.FromSeconds(30)))
        {
            await setup.LoginAsync(ChildServer.RootPassword, CancellationToken.None);
            await WaitAllReadyAsync(setup, options.Vms, TimeSpan.FromSeconds(60));
        }

        Console.WriteLine($"server pid {server.ProcessId} serving and all VMs ready {started.Elapsed.TotalSeconds:0.0} s after start");

        var stats = new LoadStats();
        var callers = new List<Caller>();
        for (var i = 0; i < options.Callers; i++)
        {
            callers.Add(new Caller(i, $"vm-{(i % options.Vms) + 1}", new VimCaller(server.BaseUri, TimeSpan.FromSeconds(60)), new Random(options.Seed * 7919 + i), options.MaxFileBytes, stats));
        }

        // Log in and create the directories before the clock starts (logins are PBKDF2 by design).
        try
        {
            await Parallel.ForEachAsync(callers, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, ct) => await c.PrepareAsync(ct));
        }
        catch (VimCallException e)
        {
            Console.WriteLine($"FAILED while logging in the callers and creating their directories: {e.Message}");
            Console.WriteLine(server.Tail);
            return 1;
        }

        var rss = new List<(double Seconds, double MiB)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                rss.Add((clock.Elapsed.TotalSeconds, server.ResidentMiB()));
                try
                {
                    await Task.Delay(1000, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
        var deadline = DateTime.UtcNow + options.Duration;
        await Task.WhenAll(callers.Select(c => c.RunAsync(deadline)));
        var elapsed = clock.Elapsed;
        await stop.CancelAsync();
        await sampler;
        rss.Add((clock.Elapsed.TotalSeconds, server.ResidentMiB()));

        // The end check: every file still expected is there, intact, and nothing else is in the directories.
        var check = Stopwatch.StartNew();
        await Parallel.ForEachAsync(callers, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (c, ct) => await c.VerifyAllAsync(ct));
        var checkTime = check.Elapsed;
        foreach (var c in callers)
        {
            c.Dispose();
        }

        var total = stats.Latency.Values.Sum(l => l.Count);
        var faults = stats.Faults.Values.Sum();
        Console.WriteLine();
        Console.WriteLine($"operations: {total} in {elapsed.TotalSeconds:0.0} s = {total / elapsed.TotalSeconds:0} ops/s");
        Console.WriteLine($"{"operation",-16}{"count",9}{"p50 ms",10}{"p99 ms",10}");
        var all = new Latencies();
        foreach (var (name, _) in Mix)
        {
            if (stats.Latency.TryGetValue(name, out var l))
            {
                Console.WriteLine($"{name,-16}{l.Count,9}{l.Percentile(0.5),10:0.0}{l.Percentile(0.99),10:0.0}");
            }
        }

        foreach (var l in stats.AllLatencies)
        {
            all.Add(TimeSpan.FromMilliseconds(l));
        }

        Console.WriteLine($"{"all",-16}{total,9}{all.Percentile(0.5),10:0.0}{all.Percentile(0.99),10:0.0}");
        Console.WriteLine($"faults by type: {(faults == 0 ? "none" : string.Join(", ", stats.Faults.OrderByDescending(f => f.Value).Select(f => $"{f.Key} x{f.Value}")))}");
        foreach (var example in stats.Examples.Take(5))
        {
            Console.WriteLine($"  e.g. {example}");
        }

        Console.WriteLine($"files: {stats.Uploaded} uploaded ({stats.UploadedBytes / 1048576.0:0.0} MiB), {stats.Verified} downloads verified by SHA-256, {stats.Corrupt} corrupt");
        Console.WriteLine($"end check ({checkTime.TotalSeconds:0.0} s): {stats.EndVerified} files present and intact, {stats.Lost} lost, {stats.Leftovers} unexpected entries; {stats.UncertainComplete} files of failed uploads/deletes present and whole");
        var warm = rss.FirstOrDefault(r => r.Seconds >= elapsed.TotalSeconds * 0.25);
        var last = rss[^1];
        var max = rss.Max(r => r.MiB);
        Console.WriteLine("server RSS (MiB) over time: " + string.Join("  ", rss.Where((_, i) => i % Math.Max(1, rss.Count / 12) == 0 || i == rss.Count - 1).Select(r => $"{r.Seconds:0}s:{r.MiB:0}")));
        Console.WriteLine($"server RSS after warm-up (t={warm.Seconds:0} s) {warm.MiB:0} MiB, at the end {last.MiB:0} MiB ({last.MiB - warm.MiB:+0;-0} MiB), max {max:0} MiB");
        Console.WriteLine($"server internal errors logged: {server.InternalErrors}");
        var ok = faults == 0 && stats.Corrupt == 0 && stats.Lost == 0 && stats.Leftovers == 0 && server.InternalErrors == 0;
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["ok"] = ok,
            ["operations"] = total,
            ["opsPerSecond"] = Math.Round(total / elapsed.TotalSeconds, 1),
            ["p50Ms"] = Math.Round(all.Percentile(0.5), 2),
            ["p99Ms"] = Math.Round(all.Percentile(0.99), 2),
            ["faults"] = faults,
            ["corrupt"] = stats.Corrupt,
            ["lost"] = stats.Lost,
            ["leftovers"] = stats.Leftovers,
            ["verified"] = stats.Verified + stats.EndVerified,
            ["rssWarmMiB"] = Math.Round(warm.MiB),
            ["rssEndMiB"] = Math.Round(last.MiB),
            ["rssMaxMiB"] = Math.Round(max),
            ["internalErrors"] = server.InternalErrors,
        }));
        if (!ok)
        {
            Console.WriteLine("FAILED: the load run saw faults, corrupt or lost files, or internal errors.");
            Console.WriteLine(server.Tail);
        }

        return ok ? 0 : 1;
    }

    public static async Task WaitAllReadyAsync(VimCaller client, int vms, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var ready = await client.ReadinessAsync(vms, CancellationToken.None);
            if (ready.All(r => r))
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{ready.Count(r => !r)} of {vms} VMs not ready after {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(100);
        }
    }

    private sealed class LoadStats
    {
        public ConcurrentDictionary<string, Latencies> Latency { get; } = new();

        public ConcurrentQueue<double> AllLatencies { get; } = new();

        public ConcurrentDictionary<string, int> Faults { get; } = new();

        public ConcurrentQueue<string> Examples { get; } = new();

        public long Uploaded;
        public long UploadedBytes;
        public long Verified;
        public long Corrupt;
        public long EndVerified;
        public long Lost;
        public long Leftovers;
        public long UncertainComplete;

        public void Fault(string kind, string example)
        {
            Faults.AddOrUpdate(kind, 1, (_, n) => n + 1);
            if (Examples.Count < 20)
            {
                Examples.Enqueue(example);
            }
        }
    }

    private sealed class Caller(int index, string vmId, VimCaller client, Random random, int maxFileBytes, LoadStats stats) : IDisposable
    {
        private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);

        // Uploads and deletes whose answer was a fault: the guest may or may not have done them (the answer can be lost
        // after the commit), so the end check accepts either outcome, but a file that is there must be whole.
        private readonly Dictionary<string, byte[]> _uncertain = new(StringComparer.Ordinal);
        private readonly string _dir = $"/tmp/load-{index}";
        private long _lastPid;
        private int _next;

        public async Task PrepareAsync(CancellationToken ct)
        {
            await client.LoginAsync(ChildServer.RootPassword, ct);
            await client.MakeDirectoryAsync(vmId, _dir, ct);
        }

        public async Task RunAsync(DateTime deadline)
        {
            var weights = Mix.Sum(m => m.Weight);
            while (DateTime.UtcNow < deadline)
            {
                var pick = random.Next(weights);
                var op = Mix.First(m => (pick -= m.Weight) < 0).Name;
                if (op is "download" or "delete" && _files.Count == 0 || op == "list-processes" && _lastPid == 0)
                {
                    op = op == "list-processes" ? "start" : "upload";
                }

                var clock = Stopwatch.StartNew();
                try
                {
                    await RunOneAsync(op);
                    stats.Latency.GetOrAdd(op, _ => new Latencies()).Add(clock.Elapsed);
                    stats.AllLatencies.Enqueue(clock.Elapsed.TotalMilliseconds);
                }
                catch (VimCallException e)
                {
                    stats.Fault(e.Kind, $"{op} on {vmId}: {e.Message}");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    stats.Fault("error:" + e.GetType().Name, $"{op} on {vmId}: {e.Message}");
                }
            }
        }

        public async Task VerifyAllAsync(CancellationToken ct)
        {
            try
            {
                var names = (await client.ListNamesAsync(vmId, _dir, ct)).Where(n => n is not "." and not "..").ToHashSet(StringComparer.Ordinal);
                foreach (var (name, hash) in _uncertain)
                {
                    if (!names.Remove(name))
                    {
                        continue; // never committed, or deleted: both fine
                    }

                    var data = await client.DownloadAsync(vmId, $"{_dir}/{name}", ct);
                    if (SHA256.HashData(data).AsSpan().SequenceEqual(hash))
                    {
                        Interlocked.Increment(ref stats.UncertainComplete);
                    }
                    else
                    {
                        Interlocked.Increment(ref stats.Corrupt);
                        stats.Fault("corrupt", $"{vmId}:{_dir}/{name} (an upload or delete that failed) is not the whole upload");
                    }
                }

                foreach (var (name, hash) in _files)
                {
                    if (!names.Remove(name))
                    {
                        Interlocked.Increment(ref stats.Lost);
                        stats.Fault("lost", $"{vmId}:{_dir}/{name} is missing");
                        continue;
                    }

                    var data = await client.DownloadAsync(vmId, $"{_dir}/{name}", ct);
                    if (SHA256.HashData(data).AsSpan().SequenceEqual(hash))
                    {
                        Interlocked.Increment(ref stats.EndVerified);
                    }
                    else
                    {
                        Interlocked.Increment(ref stats.Corrupt);
                        stats.Fault("corrupt", $"{vmId}:{_dir}/{name} differs at the end check");
                    }
                }

                Interlocked.Add(ref stats.Leftovers, names.Count);
                foreach (var extra in names)
                {
                    stats.Fault("leftover", $"{vmId}:{_dir}/{extra} was never uploaded or was deleted");
                }
            }
            catch (VimCallException e)
            {
                stats.Fault(e.Kind, $"end check on {vmId}: {e.Message}");
            }
        }

        public void Dispose() => client.Dispose();

        private async Task RunOneAsync(string op)
        {
            var ct = CancellationToken.None;
            switch (op)
            {
                case "list":
                    await client.ListFilesAsync(vmId, _dir, ct);
                    break;
                case "start":
                    _lastPid = await client.StartProgramAsync(vmId, "/bin/true", "", ct);
                    break;
                case "list-processes":
                    if (await client.ListProcessesAsync(vmId, _lastPid, ct) != 1)
                    {
                        throw new VimCallException("missing-process", $"ListProcessesInGuest [{_lastPid}] did not list the program started");
                    }

                    break;
                case "upload":
                {
                    var data = new byte[random.Next(maxFileBytes + 1)];
                    random.NextBytes(data);
                    var name = $"f{_next++}.bin";
                    try
                    {
                        await client.UploadAsync(vmId, $"{_dir}/{name}", data, ct);
                    }
                    catch
                    {
                        _uncertain[name] = SHA256.HashData(data);
                        throw;
                    }

                    _files[name] = SHA256.HashData(data);
                    Interlocked.Increment(ref stats.Uploaded);
                    Interlocked.Add(ref stats.UploadedBytes, data.Length);
                    break;
                }

                case "download":
                {
                    var name = _files.Keys.ElementAt(random.Next(_files.Count));
                    var data = await client.DownloadAsync(vmId, $"{_dir}/{name}", ct);
                    if (!SHA256.HashData(data).AsSpan().SequenceEqual(_files[name]))
                    {
                        Interlocked.Increment(ref stats.Corrupt);
                        throw new VimCallException("corrupt", $"{_dir}/{name}: the download differs from the upload");
                    }

                    Interlocked.Increment(ref stats.Verified);
                    break;
                }

                case "delete":
                {
                    var name = _files.Keys.ElementAt(random.Next(_files.Count));
                    try
                    {
                        await client.DeleteFileAsync(vmId, $"{_dir}/{name}", ct);
                    }
                    catch
                    {
                        _uncertain[name] = _files[name];
                        _files.Remove(name);
                        throw;
                    }

                    _files.Remove(name);
                    break;
                }
            }
        }
    }
}
