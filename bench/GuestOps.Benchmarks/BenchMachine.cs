using System.Runtime;
using System.Runtime.InteropServices;

namespace GuestOps.Benchmarks;

/// <summary>One line on the machine, for the worker and chain suites' output.</summary>
internal static class BenchMachine
{
    public static string Describe()
    {
        string cpu;
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        }
        catch (IOException)
        {
            cpu = "?";
        }

        return $"Machine: {Environment.ProcessorCount} cores ({cpu}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, "
            + $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC in this process; load average now {ProcFs.LoadAverage()}";
    }
}
