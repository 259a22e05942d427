using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GuestOps.Reliability.Infrastructure;

namespace GuestOps.Reliability.Fuzzing;

/// <summary>The fuzz run's settings.</summary>
/// <param name="SlowLimit">A dispatch slower than this is a finding (null: no time is checked).</param>
internal sealed record FuzzOptions(TimeSpan Duration, long MaxIterations, int Seed, string? SeedDirectory, string? CorpusDirectory, string? FindingsDirectory, string Engine, string? Replay, TimeSpan? SlowLimit)
{
    /// <summary>The environment variable a run takes its seed from when <c>--seed</c> is not given.</summary>
    public const string SeedVariable = "GUESTOPS_FUZZ_SEED";
}

/// <summary>A finding, thrown out of the SharpFuzz entry points so that AFL / libFuzzer record a crash.</summary>
internal sealed class FuzzFindingException(string message) : Exception(message);

/// <summary>
/// Fuzzes the envelope reader and the dispatcher (<see cref="FuzzTarget"/>). Engine <c>mutate</c> (default): the
/// seeded <see cref="EnvelopeMutator"/> over the wire captures, bounded by time and iterations, reproducible from its
/// seed (printed; <c>--seed</c> or <see cref="FuzzOptions.SeedVariable"/> repeats a run); exit code 1 when anything was
/// found (each finding saved under <c>--findings</c>). Every input of <c>--corpus</c> (inputs that once found a defect)
/// is run first, on every run. Engines <c>afl</c> and
/// <c>libfuzzer</c>: SharpFuzz entry points for coverage-guided runs (see docs/reliability.md); <c>--replay FILE</c>
/// runs one input.
/// </summary>
internal static class FuzzCommand
{
    public static async Task<int> RunAsync(FuzzOptions options)
    {
        await using var target = await FuzzTarget.StartAsync(options.SlowLimit);
        switch (options.Engine)
        {
            case "afl":
                SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
                {
                    using var buffer = new MemoryStream();
                    stream.CopyTo(buffer);
                    Check(target, buffer.ToArray());
                });
                return 0;
            case "libfuzzer":
                SharpFuzz.Fuzzer.LibFuzzer.Run(span => Check(target, span.ToArray()));
                return 0;
        }

        if (options.Replay is not null)
        {
            var outcome = await target.RunAsync(await File.ReadAllBytesAsync(options.Replay));
            Console.WriteLine($"{options.Replay}: {outcome.Shape} in {outcome.Elapsed.TotalMilliseconds:0.0} ms{(outcome.Finding is null ? "" : " FINDING: " + outcome.Finding)}");
            return outcome.Finding is null ? 0 : 1;
        }

        var corpus = LoadCorpus(options.CorpusDirectory);
        var seeds = FuzzSeeds.Load(options.SeedDirectory, Console.Out);
        var mutator = new EnvelopeMutator(seeds, options.Seed);
        var shapes = new Dictionary<string, long>(StringComparer.Ordinal);
        var findings = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var rssStart = ProcFs.ResidentMiB(Environment.ProcessId);
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        long iterations = 0;
        var slowest = TimeSpan.Zero;
        Console.WriteLine($"fuzz: engine mutate, seed {options.Seed} (repeat with --seed {options.Seed} or {FuzzOptions.SeedVariable}={options.Seed}), up to {options.Duration.TotalSeconds:0} s / {options.MaxIterations} inputs; RSS at start {rssStart:0} MiB");

        // The corpus of past findings first (each must stay fixed), whatever the time bound; then the seeds as they
        // are (a real client's request must never be a finding), then mutations.
        var replayed = 0;
        foreach (var (name, input) in corpus)
        {
            var outcome = await target.RunAsync(input);
            replayed++;
            if (outcome.Finding is { } finding)
            {
                findings.TryAdd("corpus " + name + ": " + (finding.Length > 120 ? finding[..120] : finding), input);
                Console.WriteLine($"FINDING (corpus {name}): {finding}");
            }

            if (input.AsSpan().IndexOf("Logout"u8) >= 0 || input.AsSpan().IndexOf("Login"u8) >= 0)
            {
                await target.LoginAsync();
            }
        }

        if (options.CorpusDirectory is not null)
        {
            Console.WriteLine($"fuzz: replayed {replayed} corpus inputs of {options.CorpusDirectory}: {findings.Count} findings");
        }

        var index = 0;
        while (clock.Elapsed < options.Duration && iterations < options.MaxIterations)
        {
            var input = index < seeds.Count ? seeds[index++] : mutator.Next();
            var outcome = await target.RunAsync(input);
            iterations++;
            slowest = outcome.Elapsed > slowest ? outcome.Elapsed : slowest;
            shapes[outcome.Shape] = shapes.GetValueOrDefault(outcome.Shape) + 1;
            if (outcome.Finding is { } finding)
            {
                var key = finding.Length > 120 ? finding[..120] : finding;
                if (findings.TryAdd(key, input))
                {
                    Console.WriteLine($"FINDING #{findings.Count} at input {iterations}: {finding}");
                    Console.WriteLine($"  input (base64, {input.Length} bytes): {Convert.ToBase64String(input.AsSpan(0, Math.Min(input.Length, 4096)))}{(input.Length > 4096 ? "..." : "")}");
                    if (options.FindingsDirectory is { } dir)
                    {
                        Directory.CreateDirectory(dir);
                        await File.WriteAllBytesAsync(Path.Combine(dir, $"finding-{options.Seed}-{findings.Count}.xml"), input);
                    }
                }
            }

            if (iterations % 500 == 0 || input.AsSpan().IndexOf("Logout"u8) >= 0 || input.AsSpan().IndexOf("Login"u8) >= 0)
            {
                await target.LoginAsync();
            }

            if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(10))
            {
                lastReport = clock.Elapsed;
                Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:0} s: {iterations} inputs ({iterations / clock.Elapsed.TotalSeconds:0}/s), {shapes.Count} answer shapes, {findings.Count} findings, RSS {ProcFs.ResidentMiB(Environment.ProcessId):0} MiB");
            }
        }

        var rssEnd = ProcFs.ResidentMiB(Environment.ProcessId);
        Console.WriteLine($"fuzz: {iterations} inputs (each anonymous and in a session) in {clock.Elapsed.TotalSeconds:0.0} s = {iterations / clock.Elapsed.TotalSeconds:0}/s; slowest {slowest.TotalMilliseconds:0} ms; RSS {rssStart:0} -> {rssEnd:0} MiB");
        Console.WriteLine($"answer shapes ({shapes.Count}): {string.Join(", ", shapes.OrderByDescending(s => s.Value).Take(25).Select(s => $"{s.Key} x{s.Value}"))}");
        Console.WriteLine($"findings: {(findings.Count == 0 ? "none" : string.Join(" | ", findings.Keys))}");
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["ok"] = findings.Count == 0,
            ["inputs"] = iterations,
            ["perSecond"] = Math.Round(iterations / clock.Elapsed.TotalSeconds),
            ["shapes"] = shapes.Count,
            ["findings"] = findings.Count,
            ["slowestMs"] = Math.Round(slowest.TotalMilliseconds),
            ["rssStartMiB"] = Math.Round(rssStart),
            ["rssEndMiB"] = Math.Round(rssEnd),
            ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
            ["corpus"] = replayed,
        }));
        return findings.Count == 0 ? 0 : 1;
    }

    /// <summary>The corpus: every file of the directory, in name order (none without one).</summary>
    private static List<(string Name, byte[] Input)> LoadCorpus(string? directory)
    {
        if (directory is null)
        {
            return [];
        }

        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The fuzz corpus {directory} does not exist.");
        }

        return Directory.EnumerateFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith(".md", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))).ToList();
    }

    private static void Check(FuzzTarget target, byte[] input)
    {
        var outcome = target.RunAsync(input).GetAwaiter().GetResult();
        if (outcome.Finding is { } finding)
        {
            throw new FuzzFindingException(finding);
        }
    }
}
