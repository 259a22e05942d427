using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace GuestOps.Benchmarks;

/// <summary>Which load generator drives a measurement.</summary>
internal enum ClientKind
{
    /// <summary>HttpClient/SocketsHttpHandler inside this process.</summary>
    InProcess,

    /// <summary>Debian's wrk (/usr/bin/wrk) with a Lua script for the POST body, as a child process.</summary>
    Wrk,
}

/// <summary>What the program measures.</summary>
internal enum BenchSuite
{
    /// <summary>vim25 SOAP dispatch vs the raw echo (issue 2), Provider=none.</summary>
    Soap,

    /// <summary>The NativeAOT tools worker: start to hello, idle RSS (issue 3).</summary>
    Worker,

    /// <summary>ListFilesInGuest through the sandboxed chain vs the raw echo, credential cache off and on (issue 3).</summary>
    Chain,

    /// <summary>File transfer URLs vs a raw Kestrel PUT/GET endpoint and qemu-ga; RSS during a large transfer (issue 5).</summary>
    Transfer,

    /// <summary>A full SSPI logon (AcquireCredentialsInGuest to a ticket) through the sandboxed chain (issue 7).</summary>
    Sspi,

    /// <summary>The qemu-ga provider vs raw qemu-ga: StartProgramInGuest and transfers (issue 20).</summary>
    QemuGa,
}

/// <summary>Command-line options. Everything has a default; <c>--help</c> lists them.</summary>
internal sealed record BenchOptions
{
    public BenchSuite Suite { get; init; } = BenchSuite.Soap;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    public int Connections { get; init; } = 16;

    /// <summary>Each round measures GuestOps then the raw echo (A, B); the median over rounds is reported.</summary>
    public int Rounds { get; init; } = 3;

    public IReadOnlyList<BenchOperation> Operations { get; init; } = [BenchOperation.RetrieveServiceContent, BenchOperation.RetrievePropertiesEx];

    public IReadOnlyList<ClientKind> Clients { get; init; } = [ClientKind.InProcess, ClientKind.Wrk];

    /// <summary>Whether --client was given (the chain suite defaults to wrk alone, to stay within ~2 minutes).</summary>
    public bool ClientsGiven { get; init; }

    /// <summary>The guestops-tools binary (worker and chain suites); default: the one the server's build published.</summary>
    public string? WorkerPath { get; init; }

    /// <summary>Worker suite: how many times the worker is started directly (no sandbox).</summary>
    public int WorkerRuns { get; init; } = 20;

    /// <summary>Worker suite: how many times a whole sandbox (unshare + bubblewrap + worker) is started; 0 skips it.</summary>
    public int SandboxRuns { get; init; } = 10;

    /// <summary>Worker suite: how long the workers stay connected and idle before their memory is read.</summary>
    public TimeSpan Idle { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Chain suite: GuestCredentialCacheSeconds of the "cache on" composition.</summary>
    public int CacheSeconds { get; init; } = 30;

    /// <summary>Chain suite: which compositions run (cache off, cache on).</summary>
    public IReadOnlyList<bool> CacheModes { get; init; } = [false, true];

    /// <summary>Chain suite: the guest account of the ListFilesInGuest calls (root or demo).</summary>
    public string GuestUser { get; init; } = "demo";

    /// <summary>Chain suite: entries in the listed directory (the answer has two more: . and ..).</summary>
    public int Entries { get; init; } = 20;

    public int WrkThreads { get; init; } = 1;

    /// <summary>Transfer suite: bytes per measured transfer (each way, each side).</summary>
    public long TransferBytes { get; init; } = 1L << 30;

    /// <summary>Transfer suite: bytes of the transfer whose RSS growth is watched.</summary>
    public long RssBytes { get; init; } = 4L << 30;

    /// <summary>Transfer suite: bytes moved through qemu-ga (slow: a rate is measured, not the whole file).</summary>
    public long QemuBytes { get; init; } = 256L << 20;

    /// <summary>Transfer suite: qemu-ga guest-file-write/read chunk size.</summary>
    public int QemuChunk { get; init; } = 1 << 20;

    /// <summary>A measurement during which other processes used the cores is repeated up to this many times; the
    /// least disturbed attempt is kept.</summary>
    public int BusyRetries { get; init; } = 2;

    /// <summary>Whether --busy-retries was given (the chain suite defaults to 1, to stay within ~2 minutes).</summary>
    public bool BusyRetriesGiven { get; init; }

    public string WrkPath { get; init; } = "/usr/bin/wrk";

    /// <summary>After the HTTP measurements, time the pipeline stages in-process (no HTTP) with a Stopwatch.</summary>
    public bool Profile { get; init; } = true;

    public int ProfileIterations { get; init; } = 20_000;

    /// <summary>qemu-ga suite: /bin/true runs per side per round.</summary>
    public int QgaCalls { get; init; } = 30;

    /// <summary>qemu-ga suite: bytes per measured transfer (each way, each side).</summary>
    public long QgaBytes { get; init; } = 64L << 20;

    /// <summary>Sspi suite: measured logons per package.</summary>
    public int SspiLogons { get; init; } = 300;

    public const string Usage = """
        GuestOps.Benchmarks: vim25 SOAP dispatch vs a raw XmlReader/XmlWriter SOAP echo, same process, same client load.

        Usage: dotnet run -c Release --project bench/GuestOps.Benchmarks -- [--suite soap|worker|chain|transfer|sspi|qemu-ga] [options]

              --suite <s>          soap (default): vim25 SOAP dispatch vs raw echo, no guests;
                                   worker: guestops-tools (NativeAOT) start to ready and idle RSS;
                                   chain: ListFilesInGuest through sandboxed VMs vs raw echo, credential cache off/on;
                                   transfer: transfer URLs vs raw Kestrel PUT/GET and qemu-ga; RSS growth;
                                   sspi: a full SSPI logon (AcquireCredentialsInGuest to a ticket) through the chain;
                                   qemu-ga: the qemu-ga provider vs raw qemu-ga (exec with polling, 4 MiB-chunk transfers)

          -d, --duration <s>       measured seconds per measurement (default 5)
          -w, --warmup <s>         warm-up seconds before each measurement (default 2)
          -c, --connections <n>    concurrent keep-alive HTTPS connections (default 16)
          -r, --rounds <n>         rounds of (GuestOps, raw echo); the median is reported (default 3)
          -o, --operations <list>  comma-separated: RetrieveServiceContent (rsc), RetrievePropertiesEx (rpex:
                                   ContainerView + TraversalSpec, as pyVmomi), RetrievePropertiesEx-objects
                                   (rpex-objects: two direct ObjectSpecs), or all (default rsc,rpex)
              --client <c>         inproc | wrk | both | none (none: only the stage profile) (default both)
              --wrk <path>         wrk binary (default /usr/bin/wrk)
              --wrk-threads <n>    wrk -t (default 1)
              --busy-retries <n>   repeat a measurement disturbed by other processes (> 0.25 cores of CPU outside
                                   this process and wrk) up to n times, keep the least disturbed (default 2)
              --profile-iterations <n>  iterations of the in-process stage breakdown (default 20000)
              --no-profile         skip the stage breakdown
          -h, --help               this text

        Transfer suite (targets: >= 0.7x raw Kestrel, >= 10x qemu-ga, RSS growth <= 64 MiB; -r rounds, default 3):
              --transfer-mib <n>   size of each measured transfer (default 1024)
              --rss-mib <n>        size of the transfer whose RSS growth is watched (default 4096)
              --qemu-mib <n>       bytes through qemu-ga (default 256)
              --qemu-chunk-kib <n> qemu-ga guest-file-write/read chunk (default 1024)

        Worker suite (targets: start to ready <= 100 ms, idle RSS <= 20 MiB):
              --worker-path <file> guestops-tools binary (default: src/GuestOps.Server/bin/Release/net10.0/guestops-tools,
                                   which building this program publishes)
              --runs <n>           direct starts of the worker (default 20)
              --sandbox-runs <n>   starts of a whole sandbox (unshare + bwrap + worker), 0 to skip (default 10)
              --idle <s>           idle time before memory is read (default 2)

        Chain suite (target with the cache: >= 0.3x the raw echo); -d -w -c -r --client --busy-retries apply (defaults
        here: client wrk, busy retries 1):
              --worker-path <file> as above
              --cache <on|off|both> which compositions (default both: GuestCredentialCacheSeconds 0, then N; the qemu-ga
                                    suite: on sets GuestCredentialCacheSeconds N for the service side, otherwise off)
              --cache-seconds <n>  GuestCredentialCacheSeconds of the cache-on composition (default 30)
              --guest-user <u>     demo (default) or root
              --entries <n>        entries in the listed directory (default 20)
              --no-profile         skip the "host agent alone" measurement (no HTTP/SOAP) after each composition

        Sspi suite (target: a full NTLM logon < 5 ms at p50):
              --worker-path <file> as above
              --logons <n>         measured logons per package (NTLM, Negotiate), after n/10 uncounted (default 300)

        qemu-ga suite (targets: StartProgramInGuest + exit code <= 3x raw guest-exec with polling, transfers >= 0.8x
        raw guest-file-write/read with 4 MiB chunks; -r rounds, default 3):
              --worker-path <file> the tools pushed into the guests (default as above)
              --calls <n>          /bin/true runs per side per round (default 30)
              --qga-mib <n>        size of each measured transfer (default 64)

        Exit code is 0 after a measurement; a missed target prints a "BELOW TARGET" line (soap: ratio < 0.8).
        """;

    /// <summary>Parses the command line (System.CommandLine; <c>--name=value</c> works too); null (after printing why)
    /// when it is not valid or help was asked.</summary>
    public static BenchOptions? Parse(string[] args, TextWriter output)
    {
        var command = new Command("GuestOps.Benchmarks");
        var appliers = new List<Func<ParseResult, BenchOptions, BenchOptions>>();

        // An option with one value: parse gets the value and the name it was given by (for its error text), apply sets it.
        void Value<T>(string name, string[] aliases, Func<string, string, T> parse, Func<BenchOptions, T, BenchOptions> apply)
        {
            var option = new Option<T>(name, aliases)
            {
                Arity = ArgumentArity.OneOrMore,
                AllowMultipleArgumentsPerToken = false,
                CustomParser = result =>
                {
                    var given = (result.Parent as OptionResult)?.IdentifierToken?.Value ?? name;
                    try
                    {
                        return parse(result.Tokens.Count > 0 ? result.Tokens[^1].Value : throw new FormatException($"{given} needs a value."), given);
                    }
                    catch (FormatException e)
                    {
                        result.AddError(e.Message);
                        return default!;
                    }
                },
            };
            command.Options.Add(option);
            appliers.Add((parsed, options) => parsed.GetResult(option) is null ? options : apply(options, parsed.GetValue(option)!));
        }

        void Flag(string name, Func<BenchOptions, BenchOptions> apply)
        {
            var option = new Option<bool>(name) { Arity = ArgumentArity.Zero };
            command.Options.Add(option);
            appliers.Add((parsed, options) => parsed.GetValue(option) ? apply(options) : options);
        }

        var help = new Option<bool>("--help", "-h", "-?") { Arity = ArgumentArity.Zero };
        command.Options.Add(help);
        Value("--suite", [], (v, _) => v.ToLowerInvariant() switch
        {
            "soap" or "dispatch" => BenchSuite.Soap,
            "worker" or "tools" => BenchSuite.Worker,
            "chain" => BenchSuite.Chain,
            "transfer" or "transfers" => BenchSuite.Transfer,
            "sspi" => BenchSuite.Sspi,
            "qemu-ga" or "qga" => BenchSuite.QemuGa,
            var other => throw new FormatException($"--suite: '{other}' is not soap, worker, chain, transfer, sspi or qemu-ga."),
        }, (o, v) => o with { Suite = v });
        Value("--transfer-mib", [], Positive, (o, v) => o with { TransferBytes = (long)v << 20 });
        Value("--rss-mib", [], Positive, (o, v) => o with { RssBytes = (long)v << 20 });
        Value("--qemu-mib", [], Positive, (o, v) => o with { QemuBytes = (long)v << 20 });
        Value("--qemu-chunk-kib", [], Positive, (o, v) => o with { QemuChunk = v << 10 });
        Value("--calls", [], Positive, (o, v) => o with { QgaCalls = v });
        Value("--qga-mib", [], Positive, (o, v) => o with { QgaBytes = (long)v << 20 });
        Value("--worker-path", [], (v, _) => v, (o, v) => o with { WorkerPath = v });
        Value("--runs", [], Positive, (o, v) => o with { WorkerRuns = v });
        Value("--sandbox-runs", [], Count, (o, v) => o with { SandboxRuns = v });
        Value("--idle", [], (v, name) => Seconds(v, name, allowZero: true), (o, v) => o with { Idle = v });
        Value<IReadOnlyList<bool>>("--cache", [], (v, _) => v.ToLowerInvariant() switch
        {
            "on" => [true],
            "off" => [false],
            "both" => [false, true],
            var other => throw new FormatException($"--cache: '{other}' is not on, off or both."),
        }, (o, v) => o with { CacheModes = v });
        Value("--cache-seconds", [], Positive, (o, v) => o with { CacheSeconds = v });
        Value("--guest-user", [], (v, _) => v is "root" or "demo" ? v : throw new FormatException("--guest-user: root or demo."), (o, v) => o with { GuestUser = v });
        Value("--entries", [], Positive, (o, v) => o with { Entries = v });
        Value("--duration", ["-d"], (v, name) => Seconds(v, name), (o, v) => o with { Duration = v });
        Value("--warmup", ["-w"], (v, name) => Seconds(v, name, allowZero: true), (o, v) => o with { Warmup = v });
        Value("--connections", ["-c"], Positive, (o, v) => o with { Connections = v });
        Value("--rounds", ["-r"], Positive, (o, v) => o with { Rounds = v });
        Value("--operations", ["-o"], (v, _) => ParseOperations(v), (o, v) => o with { Operations = v });
        Value<IReadOnlyList<ClientKind>>("--client", [], (v, _) => v.ToLowerInvariant() switch
        {
            "inproc" or "in-process" or "httpclient" => [ClientKind.InProcess],
            "wrk" => [ClientKind.Wrk],
            "both" => [ClientKind.InProcess, ClientKind.Wrk],
            "none" => [],
            var other => throw new FormatException($"--client: '{other}' is not inproc, wrk or both."),
        }, (o, v) => o with { ClientsGiven = true, Clients = v });
        Value("--wrk", [], (v, _) => v, (o, v) => o with { WrkPath = v });
        Value("--wrk-threads", [], Positive, (o, v) => o with { WrkThreads = v });
        Value("--busy-retries", [], Count, (o, v) => o with { BusyRetriesGiven = true, BusyRetries = v });
        Value("--profile-iterations", [], Positive, (o, v) => o with { ProfileIterations = v, Profile = true });
        Value("--logons", [], Positive, (o, v) => o with { SspiLogons = v });
        Flag("--no-profile", o => o with { Profile = false });

        var parsed = command.Parse(args, new ParserConfiguration { EnablePosixBundling = false, ResponseFileTokenReplacer = null });
        if (parsed.GetValue(help))
        {
            output.WriteLine(Usage);
            return null;
        }

        if (parsed.Errors.Count > 0)
        {
            output.WriteLine(
                parsed.UnmatchedTokens.Count > 0 ? $"Unknown option '{parsed.UnmatchedTokens[0]}'."
                : parsed.Errors[0].SymbolResult is OptionResult { Tokens.Count: 0 } missing ? $"{missing.IdentifierToken?.Value ?? missing.Option.Name} needs a value."
                : parsed.Errors[0].Message);
            output.WriteLine();
            output.WriteLine(Usage);
            return null;
        }

        return appliers.Aggregate(new BenchOptions(), (options, apply) => apply(parsed, options));
    }

    private static int Count(string value, string option) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : throw new FormatException($"{option}: not a count.");

    private static IReadOnlyList<BenchOperation> ParseOperations(string list)
    {
        if (list.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return BenchOperation.All;
        }

        var result = new List<BenchOperation>();
        foreach (var name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var operation = BenchOperation.All.FirstOrDefault(o => o.Matches(name))
                ?? throw new FormatException($"--operations: unknown operation '{name}' (known: {string.Join(", ", BenchOperation.All.Select(o => o.Name))}).");
            if (!result.Contains(operation))
            {
                result.Add(operation);
            }
        }

        return result.Count > 0 ? result : throw new FormatException("--operations: no operation given.");
    }

    private static TimeSpan Seconds(string value, string option, bool allowZero = false) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && (seconds > 0 || (allowZero && seconds == 0))
            ? TimeSpan.FromSeconds(seconds)
            : throw new FormatException($"{option}: '{value}' is not a number of seconds.");

    private static int Positive(string value, string option) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new FormatException($"{option}: '{value}' is not a positive integer.");
}
