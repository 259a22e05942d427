using System.Diagnostics;
using System.Globalization;

namespace GuestOps.Benchmarks;

/// <summary>The result of one fixed-duration measurement of one endpoint.</summary>
internal sealed record Measurement(
    long Requests,
    double Seconds,
    double P50Ms,
    double P99Ms,
    long Errors,
    CpuSample Cpu)
{
    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;

    /// <summary>CPU time this process spent per completed request (server, plus the client when it is in-process).</summary>
    public double ProcessCpuMicrosPerRequest => Requests > 0 ? Cpu.ProcessSeconds * 1e6 / Requests : 0;

    /// <summary>CPU time the guests' processes (tools workers) spent per completed request.</summary>
    public double GuestCpuMicrosPerRequest => Requests > 0 ? Cpu.GuestSeconds * 1e6 / Requests : 0;

    /// <summary>All the CPU one request costs on this machine: this process, the wrk child and the guests' processes.</summary>
    public double TotalCpuMicrosPerRequest => Requests > 0 ? (Cpu.ProcessSeconds + Cpu.ChildSeconds + Cpu.GuestSeconds) * 1e6 / Requests : 0;
}

/// <summary>CPU use during a measurement: this process, its finished children (wrk), the guests' processes (the sandboxed
/// tools workers of the chain suite, which are neither this process nor its reaped children), and the whole machine.</summary>
internal sealed record CpuSample(double WallSeconds, double ProcessSeconds, double ChildSeconds, double MachineBusySeconds, double GuestSeconds = 0)
{
    /// <summary>This process's share of the machine, in cores.</summary>
    public double ProcessCores => WallSeconds > 0 ? ProcessSeconds / WallSeconds : 0;

    /// <summary>The wrk child's share, in cores (counted when it has exited).</summary>
    public double ChildCores => WallSeconds > 0 ? ChildSeconds / WallSeconds : 0;

    /// <summary>The guests' processes (tools workers and their sandboxes), in cores.</summary>
    public double GuestCores => WallSeconds > 0 ? GuestSeconds / WallSeconds : 0;

    /// <summary>Everything else that ran (other engineers' builds, the system), in cores.</summary>
    public double OtherCores => WallSeconds > 0 ? Math.Max(0, MachineBusySeconds - ProcessSeconds - ChildSeconds - GuestSeconds) / WallSeconds : 0;
}

/// <summary>Samples process and machine CPU time between two points.</summary>
internal sealed class CpuMeter
{
    private readonly long _startTimestamp;
    private readonly TimeSpan _startProcess;
    private readonly double _startChildren;
    private readonly double _startMachineBusy;
    private readonly IReadOnlyList<int> _guestPids;
    private readonly double _startGuests;

    private CpuMeter(IReadOnlyList<int>? guestPids)
    {
        _guestPids = guestPids ?? [];
        _startTimestamp = Stopwatch.GetTimestamp();
        _startProcess = Process.GetCurrentProcess().TotalProcessorTime;
        _startChildren = ChildrenSeconds();
        _startMachineBusy = MachineBusySeconds();
        _startGuests = ProcFs.CpuSeconds(_guestPids);
    }

    /// <param name="guestPids">Other processes whose CPU is reported apart (the chain suite's tools workers); their CPU
    /// is not counted as "other" load on the machine.</param>
    public static CpuMeter Start(IReadOnlyList<int>? guestPids = null) => new(guestPids);

    public CpuSample Stop() => new(
        Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds,
        (Process.GetCurrentProcess().TotalProcessorTime - _startProcess).TotalSeconds,
        ChildrenSeconds() - _startChildren,
        MachineBusySeconds() - _startMachineBusy,
        ProcFs.CpuSeconds(_guestPids) - _startGuests);

    /// <summary>CPU seconds of this process's waited-for children (cutime + cstime of /proc/self/stat).</summary>
    private static double ChildrenSeconds()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17 (1-based).
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(rest[13], CultureInfo.InvariantCulture) + long.Parse(rest[14], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return 0;
        }
    }

    /// <summary>Non-idle CPU seconds of all cores since boot (first line of /proc/stat); 0 where there is none.</summary>
    private static double MachineBusySeconds()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var fields = reader.ReadLine()!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // cpu user nice system idle iowait irq softirq steal ...
            long busy = 0;
            for (var i = 1; i < fields.Length && i <= 8; i++)
            {
                if (i is not 4 and not 5)
                {
                    busy += long.Parse(fields[i], CultureInfo.InvariantCulture);
                }
            }

            return busy / 100.0; // USER_HZ
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or NullReferenceException)
        {
            return 0;
        }
    }
}

/// <summary>Latency percentiles from Stopwatch tick samples.</summary>
internal static class Percentiles
{
    public static double Milliseconds(long[] sortedTicks, double percentile)
    {
        if (sortedTicks.Length == 0)
        {
            return double.NaN;
        }

        var index = (int)Math.Ceiling(percentile / 100.0 * sortedTicks.Length) - 1;
        return sortedTicks[Math.Clamp(index, 0, sortedTicks.Length - 1)] * 1000.0 / Stopwatch.Frequency;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
