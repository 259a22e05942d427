using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GuestOps.Client;
using GuestOps.Reliability.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.Reliability.Scale;

internal sealed record FrontEndHopOptions(int Callers, double DurationSeconds, int Rounds, int CredentialCacheSeconds, string? ServerDll);

/// <summary>
/// What the hop from a front end to a host agent costs: ListFilesInGuest of one sandboxed VM through a front end and a
/// host agent (two processes of a loopback cluster, the server's launcher with its redis-server) against the same call
/// in the single process, in alternating rounds of one run, with the same callers, VM kind and settings on both sides.
/// The ratio is cluster ops/s over single-process ops/s (issue 18's goal: at least 0.7).
/// </summary>
internal static class FrontEndHopCommand
{
    public static async Task<int> RunAsync(FrontEndHopOptions options)
    {
        var serverDll = ChildServer.FindServerDll(options.ServerDll);
        if (serverDll is null)
        {
            Console.WriteLine("GuestOps.Server.dll not found: build it (dotnet build -c Release src/GuestOps.Server) or pass --server-dll.");
            return 2;
        }

        var cache = options.CredentialCacheSeconds.ToString(CultureInfo.InvariantCulture);
        Console.WriteLine($"frontend-hop: ListFilesInGuest of one sandboxed VM, {options.Callers} callers, {options.Rounds} rounds of {options.DurationSeconds:0.#} s a side, guest credential cache {cache} s");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        await using var single = await ChildServer.StartAsync(serverDll, 1, "single", [$"--GuestOps:GuestCredentialCacheSeconds={cache}"], TimeSpan.FromMinutes(3));
        await using var cluster = await ChildCluster.StartAsync(serverDll, ["--frontends", "1", "--hostagents", "1", "--vms-per-host", "1"],
            [("GuestOps__GuestCredentialCacheSeconds", cache)], TimeSpan.FromMinutes(5));
        var sides = new (string Name, Uri Sdk, ClusterScaleCommand.Roles Roles)[]
        {
            ("single process", single.SdkUri, new([single.ProcessId], [], [])),
            ("front end -> host agent", cluster.FrontEnds[0], new(cluster.Pids("frontend-"), cluster.Pids("host-"), cluster.Pids("redis"))),
        };

        var vms = new ManagedObjectReference[sides.Length];
        var callers = new List<ClusterScaleCommand.Caller>[sides.Length];
        for (var s = 0; s < sides.Length; s++)
        {
            vms[s] = await ReadyVmAsync(sides[s].Sdk, TimeSpan.FromMinutes(3));
            callers[s] = [];
            for (var i = 0; i < options.Callers; i++)
            {
                callers[s].Add(await ClusterScaleCommand.Caller.ConnectAsync(sides[s].Sdk));
            }
        }

        try
        {
            var duration = TimeSpan.FromSeconds(options.DurationSeconds);
            for (var s = 0; s < sides.Length; s++)
            {
                // Warm-up: both servers' code paths jitted and tiered up (2 s left the single process at a third of its speed).
                await ClusterScaleCommand.MeasureAsync(callers[s], _ => vms[s], TimeSpan.FromSeconds(10), sides[s].Roles);
            }

            var measured = sides.Select(_ => new List<ClusterScaleCommand.Measurement>()).ToArray();
            var ratios = new List<double>();
            for (var round = 1; round <= options.Rounds; round++)
            {
                // Alternate which side goes first, so a drift of the machine's speed does not favour one.
                foreach (var s in round % 2 == 1 ? new[] { 0, 1 } : [1, 0])
                {
                    measured[s].Add(await ClusterScaleCommand.MeasureAsync(callers[s], _ => vms[s], duration, sides[s].Roles));
                }

                var ratio = measured[1][^1].OpsPerSecond / measured[0][^1].OpsPerSecond;
                ratios.Add(ratio);
                Console.WriteLine($"round {round}: {sides[0].Name} {measured[0][^1]}; {sides[1].Name} {measured[1][^1]}; ratio {ratio:0.00}");
                Console.WriteLine($"  CPU per call: {sides[0].Name} {Split(measured[0][^1], single: true)}; {sides[1].Name} {Split(measured[1][^1], single: false)}");
            }

            var median = ratios.Order().ElementAt(ratios.Count / 2);
            var errors = measured.Sum(m => m.Sum(x => x.Errors));
            var hop = measured[1].Select(m => (m.FrontEndMicros, m.HostAgentMicros, m.RedisMicros)).ToList();
            Console.WriteLine($"median ops/s: {sides[0].Name} {ClusterScaleCommand.Median(measured[0]):0}, {sides[1].Name} {ClusterScaleCommand.Median(measured[1]):0}; "
                + $"ratio median {median:0.00} (rounds {string.Join(", ", ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}; goal >= 0.7); "
                + $"CPU per call in the cluster: front end {hop.Select(h => h.FrontEndMicros).Order().ElementAt(hop.Count / 2):0} us, host agent {hop.Select(h => h.HostAgentMicros).Order().ElementAt(hop.Count / 2):0} us, redis-server {hop.Select(h => h.RedisMicros).Order().ElementAt(hop.Count / 2):0} us");
            if (single.InternalErrors + cluster.InternalErrors > 0)
            {
                Console.WriteLine($"internal errors logged: single process {single.InternalErrors}, cluster {cluster.InternalErrors}{(cluster.InternalErrors > 0 ? Environment.NewLine + cluster.ErrorLines : "")}");
            }

            Console.WriteLine("RESULT " + JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["ratioMedian"] = Math.Round(median, 3),
                ["ratios"] = ratios.Select(r => Math.Round(r, 3)).ToArray(),
                ["errors"] = errors,
                ["internalErrors"] = single.InternalErrors + cluster.InternalErrors,
            }));
            return errors == 0 && single.InternalErrors + cluster.InternalErrors == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var caller in callers.SelectMany(c => c))
            {
                await caller.DisposeAsync();
            }
        }
    }

    /// <summary>Where one side's CPU went per call (the server's processes, then the rest of the machine: the worker and
    /// the callers), and how many of the machine's cores were busy: below the core count, the side waited on something
    /// other than CPU.</summary>
    private static string Split(ClusterScaleCommand.Measurement m, bool single)
    {
        var busyCores = (m.FrontEndMicros + m.HostAgentMicros + m.RedisMicros + m.RestMicros) * m.OpsPerSecond / 1e6;
        var server = single
            ? $"server {m.FrontEndMicros:0} us"
            : $"front end {m.FrontEndMicros:0} us, host agent {m.HostAgentMicros:0} us, redis-server {m.RedisMicros:0} us";
        return $"{server}, rest {m.RestMicros:0} us, {busyCores:0.00} of {Environment.ProcessorCount} cores busy";
    }

    /// <summary>The first VM (by id) whose guest operations are ready.</summary>
    private static async Task<ManagedObjectReference> ReadyVmAsync(Uri sdk, TimeSpan timeout)
    {
        await using var admin = await ClusterScaleCommand.ConnectAsync(sdk);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var vms = await admin.RetrieveAllAsync("VirtualMachine", ["guest.guestOperationsReady"]);
            if (vms.Where(vm => vm.propSet?.FirstOrDefault()?.val is true).OrderBy(vm => vm.obj.Value, StringComparer.Ordinal).FirstOrDefault() is { } ready)
            {
                return ready.obj;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{sdk}: no VM ready within {timeout.TotalSeconds:0} s ({vms.Count} listed).");
            }

            await Task.Delay(500);
        }
    }
}
