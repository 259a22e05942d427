using System.Globalization;
using GuestOps.Reliability.Fuzzing;
using GuestOps.Reliability.Load;
using GuestOps.Reliability.Scale;

// Issue 9's long-running reliability programs (usage in docs/reliability.md):
//   fuzz  [--seconds 60] [--iterations N] [--seed N] [--seeds DIR] [--corpus DIR] [--findings DIR] [--engine mutate|afl|libfuzzer] [--replay FILE] [--slow-ms 2000]
//         (--slow-ms 0: no dispatch time counts as a finding; without --seed: GUESTOPS_FUZZ_SEED, else a random seed; the seed is printed either way)
//   load  [--duration 60] [--callers 64] [--vms 4] [--credential-cache 0] [--max-file-kib 256] [--seed 1] [--server-dll PATH]
//   scale [--vms 200] [--callers 16] [--duration 5] [--rounds 3] [--warmup 20] [--credential-cache 30] [--max-deviation 0.2] [--measure true|false] [--server-dll PATH]
// Exit code 0 when the run found nothing wrong, 1 when it did, 2 for bad usage.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: GuestOps.Reliability fuzz|load|scale [options]  (see docs/reliability.md)");
    return args.Length == 0 ? 2 : 0;
}

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
    {
        Console.WriteLine($"bad option '{args[i]}': options are --name value");
        return 2;
    }

    options[args[i][2..]] = args[++i];
}

string? Text(string name) => options.TryGetValue(name, out var v) ? v : null;
int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
double Double(string name, double fallback) => options.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

try
{
    return args[0] switch
    {
        "fuzz" => await FuzzCommand.RunAsync(new FuzzOptions(
            TimeSpan.FromSeconds(Double("seconds", 60)), options.TryGetValue("iterations", out var n) ? long.Parse(n, CultureInfo.InvariantCulture) : long.MaxValue,
            FuzzSeed(Text("seed")), Text("seeds"), Text("corpus"), Text("findings"), Text("engine") ?? "mutate", Text("replay"),
            Int("slow-ms", (int)FuzzTarget.DefaultSlowLimit.TotalMilliseconds) is > 0 and var slowMs ? TimeSpan.FromMilliseconds(slowMs) : null)),
        "load" => await LoadCommand.RunAsync(new LoadOptions(
            TimeSpan.FromSeconds(Double("duration", 60)), Int("callers", 64), Int("vms", 4), Int("credential-cache", 0), Int("max-file-kib", 256) * 1024, Int("seed", 1), Text("server-dll"))),
        "scale" => await ScaleCommand.RunAsync(new ScaleOptions(
            Int("vms", 200), Int("callers", 16), TimeSpan.FromSeconds(Double("duration", 5)), Int("rounds", 3), TimeSpan.FromSeconds(Double("warmup", 20)), Int("credential-cache", 30), Double("max-deviation", 0.2), Text("server-dll"), Text("measure") != "false")),
        _ => Usage(),
    };
}
catch (FormatException e)
{
    Console.WriteLine($"bad option value: {e.Message}");
    return 2;
}

// The fuzz seed: --seed, else GUESTOPS_FUZZ_SEED, else a random one (printed by the run, so any run can be repeated).
static int FuzzSeed(string? option) =>
    option is not null ? int.Parse(option, CultureInfo.InvariantCulture)
    : Environment.GetEnvironmentVariable(FuzzOptions.SeedVariable) is { Length: > 0 } fromEnvironment ? int.Parse(fromEnvironment, CultureInfo.InvariantCulture)
    : Random.Shared.Next(1, int.MaxValue);

static int Usage()
{
    Console.WriteLine("usage: GuestOps.Reliability fuzz|load|scale [options]  (see docs/reliability.md)");
    return 2;
}
