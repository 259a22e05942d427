using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The CI variants of issue 9's long-running programs (bench/GuestOps.Reliability, docs/reliability.md), each run as
/// its own process and each asserting correctness only; their speed figures (the one-VM versus spread throughput ratio,
/// operations per second over 60 s) are the programs' own business, run by hand as benchmarks. The fuzzer replays its
/// corpus of past findings (tests/fuzz-corpus) and then 600 inputs (the wire captures' requests, then mutations) with a
/// printed seed (from GUESTOPS_FUZZ_SEED when set): no finding. The load run: 16 callers for 5 s against 4 sandboxed VMs: no fault, every
/// download and every file at the end matches its SHA-256, nothing lost or left over, no internal error. The scale run:
/// 8 VMs, every one ready and answering, no error, no internal error. The cluster scale run: see its test.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ReliabilityProgramTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>The seed of the fuzz run (bench/GuestOps.Reliability FuzzOptions.SeedVariable); a random one when unset.</summary>
    private const string FuzzSeedVariable = "GUESTOPS_FUZZ_SEED";

    private static string CorpusDirectory => Path.Combine(RepositoryLayout.RepositoryRoot, "tests", "fuzz-corpus");

    [TestMethod]
    [Timeout(600_000)]
    public async Task Fuzz_CorpusOfPastFindings_Then600Inputs_FindNothing()
    {
        var corpus = Directory.EnumerateFiles(CorpusDirectory).Count(f => !f.EndsWith(".md", StringComparison.Ordinal));
        Assert.IsGreaterThan(0, corpus, $"{CorpusDirectory} holds the inputs that found defects");
        // A number of inputs, not a time: the wire captures' requests as they are, then mutations; a slow dispatch is
        // no finding here (--slow-ms 0: speed is for runs by hand).
        var result = await RunAsync(["fuzz", "--iterations", "600", "--seconds", "3600", "--slow-ms", "0", "--corpus", CorpusDirectory], TimeSpan.FromSeconds(560));
        TestContext.WriteLine($"fuzz seed {result.GetProperty("seed").GetString()} (set GUESTOPS_FUZZ_SEED to it to repeat this run)");
        Assert.AreEqual(corpus, result.GetProperty("corpus").GetInt32(), "every corpus input was replayed");
        Assert.AreEqual(600L, result.GetProperty("inputs").GetInt64(), "the fuzzer ran every input it was asked for");
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task Load_16CallersOn4Vms_NoFault_EveryFileIntact()
    {
        var result = await RunAsync(["load", "--duration", "5", "--callers", "16", "--vms", "4"], TimeSpan.FromSeconds(160));
        Assert.AreEqual(0L, result.GetProperty("faults").GetInt64(), "no unexpected fault");
        Assert.AreEqual(0L, result.GetProperty("corrupt").GetInt64(), "no download differed from its upload's SHA-256");
        Assert.AreEqual(0L, result.GetProperty("lost").GetInt64(), "no file lost");
        Assert.AreEqual(0L, result.GetProperty("leftovers").GetInt64(), "nothing left over");
        Assert.IsTrue(result.GetProperty("verified").GetInt64() > 0, "files were verified by checksum");
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task Scale_EightVms_EveryVmReadyAndAnswering()
    {
        var result = await RunAsync(["scale", "--vms", "8", "--callers", "8", "--measure", "false"], TimeSpan.FromSeconds(160));
        Assert.AreEqual(8, result.GetProperty("vms").GetInt32());
        Assert.AreEqual(8, result.GetProperty("answered").GetInt32(), "every VM answered ListFilesInGuest");
        Assert.AreEqual(0, result.GetProperty("internalErrors").GetInt32());
    }

    /// <summary>Issue 19's cluster scale run, CI-sized (<c>cluster-scale --ci</c>): the server's launcher starts redis-server,
    /// 2 host agents and a front end; 1,000 VMs, 8 with sandboxed workers, 8 echo, the rest without tools. Every VM is
    /// found by name, the paged RetrievePropertiesEx (maxObjects 100) returns every VM exactly once, every worker and echo
    /// VM answers ListFilesInGuest, a VM without tools fails with GuestOperationsUnavailable, no internal error.</summary>
    [TestMethod]
    [Timeout(300_000)]
    [DoNotParallelize] // a cluster of processes with 1,000 VMs takes both cores; a class beside it would only time out
    public async Task ClusterScale_ThousandVms_EveryVmFound_PagedOnce_EveryReadyVmAnswers()
    {
        var result = await RunAsync(["cluster-scale", "--ci"], TimeSpan.FromSeconds(280));
        Assert.IsTrue(result.GetProperty("everyVmFound").GetBoolean(), "every VM of every host agent is in the front end's inventory");
        Assert.IsTrue(result.GetProperty("pagedExactlyOnce").GetBoolean(), "paging returned every VM exactly once");
        Assert.IsGreaterThan(1, result.GetProperty("pages").GetInt32(), "the retrieval was paged");
        Assert.IsTrue(result.GetProperty("everyReadyVmAnswers").GetBoolean(), "every worker and echo VM answered");
        Assert.AreEqual("GuestOperationsUnavailable", result.GetProperty("withoutToolsFault").GetString());
        Assert.AreEqual(1000, result.GetProperty("updatesEntered").GetInt32(), "WaitForUpdatesEx from version \"\" entered every VM");
        Assert.IsTrue(result.GetProperty("updateSeen").GetBoolean(), "WaitForUpdatesEx returned the modify of the VM whose worker was killed");
        Assert.AreEqual(0, result.GetProperty("internalErrors").GetInt32());
    }

    /// <summary>Runs the program, prints its output, asserts exit code 0 and returns its RESULT line.</summary>
    private async Task<JsonElement> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var environment = new Dictionary<string, string>();
        if (Environment.GetEnvironmentVariable(FuzzSeedVariable) is { Length: > 0 } seed)
        {
            environment[FuzzSeedVariable] = seed; // GUESTOPS_* variables are not inherited unless passed on
        }

        var run = await ProcessRunner.RunAsync(DotnetHost(), [RepositoryLayout.ReliabilityDll, .. arguments], timeout, environment: environment);
        TestContext.WriteLine(run.StandardOutput);
        TestContext.WriteLine(run.StandardError);
        Assert.AreEqual(0, run.ExitCode, $"{string.Join(' ', arguments)} failed:{Environment.NewLine}{run}");
        var line = run.StandardOutput.Split('\n').Last(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        using var document = JsonDocument.Parse(line["RESULT ".Length..]);
        return document.RootElement.Clone();
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }
}
