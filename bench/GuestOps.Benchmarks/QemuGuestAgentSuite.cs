using System.Diagnostics;
using System.Net;
using System.Security;
using System.Security.Cryptography;
using System.Xml.Linq;

namespace GuestOps.Benchmarks;

/// <summary>
/// Issue 20's acceptance figures, side by side in one run: the qemu-ga provider (demo VMs whose only agent is Debian's
/// qemu-ga on a unix socket in a bubblewrap sandbox; the host agent pushes the tools through it and runs every call as
/// a one-shot worker under guest-exec, PAM and impersonation included) against raw qemu-ga driven by a client the way
/// a management client drives it (<c>qemu-ga -m unix-listen</c> on this host, no authentication):
/// StartProgramInGuest(/bin/true) (+ ListProcessesInGuest until its exit code) vs guest-exec + guest-exec-status
/// polling, and a file uploaded / downloaded through the /guestFile URLs vs guest-file-write / guest-file-read with
/// 4 MiB base64 chunks. Rounds alternate the two sides.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class QemuGuestAgentSuite
{
    private const double ExecTarget = 3;
    private const double TransferTarget = 0.8;
    private const string VmId = "vm-1";
    private const string GuestUser = "demo";
    private const string GuestFile = "/tmp/bench-qga.bin";
    private const int Chunk = 4 << 20;
    private const int WarmUpRuns = 60;
    private static readonly XNamespace Vim = "urn:vim25";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        if (!File.Exists(RawQemuGuestAgent.Binary))
        {
            Console.WriteLine($"{RawQemuGuestAgent.Binary} is missing: apt-get install qemu-guest-agent.");
            return 3;
        }

        if (WorkerBinary.ResolveForSandboxes(options.WorkerPath, "qemu-ga") is not { } worker)
        {
            return 3;
        }

        Console.WriteLine("GuestOps benchmark: the qemu-ga provider vs raw qemu-ga, one run");
        Console.WriteLine(BenchMachine.Describe());
        Console.WriteLine($"Worker (pushed into the guests through qemu-ga): {WorkerBinary.Describe(worker)}");

        var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        // --cache on: the resident tools keep verified credentials (GuestCredentialCacheSeconds); default off, as the product.
        int? cache = options.CacheModes is [true] ? options.CacheSeconds : null;
        await using var server = await BenchServer.StartAsync([], new BenchServerSettings { Provider = "qemu-ga", WorkerPath = worker, Password = password, GuestCredentialCacheSeconds = cache });
        var session = await server.LogInAsync();
        var ready = await server.WaitForGuestsAsync(session, TimeSpan.FromMinutes(2));
        Console.WriteLine($"Guests: 2 demo VMs (provider qemu-ga: bubblewrap sandbox + qemu-ga -m unix-listen, no worker in the image), ready after {ready.TotalSeconds:0.0} s "
            + "(tools pushed and checked on first contact)");
        await using var raw = await RawQemuGuestAgent.StartAsync();
        var rawDirectory = Directory.CreateTempSubdirectory("guestops-bench-qga-files-");
        Console.WriteLine($"Raw side: {RawQemuGuestAgent.Binary} -m unix-listen on this host (runs as root, no guest authentication), files in {rawDirectory.FullName}");
        Console.WriteLine($"Service side: {VmId} as guest user {GuestUser} (NamePasswordAuthentication, PAM in the guest; credential cache "
            + (cache is { } ttl ? $"{ttl} s" : "off") + "), HTTPS/1.1 keep-alive to /sdk, one caller");
        Console.WriteLine();

        using var handler = InProcessLoad.CreateHandler(2);
        using var http = new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(30) };
        var soap = new Calls(http, session.SessionKey, password);
        var calls = options.QgaCalls;
        var size = options.QgaBytes;
        const int chunk = Chunk;
        try
        {
            // Warm-up (not counted): the guest's first calls, one small transfer each way, and enough runs of both paths
            // that the runtime has moved their code to its optimized tier, whose compiling would otherwise run on the
            // cores the measured calls need (a method is recompiled after 30 calls; 3 runs left the JIT busy through the
            // rounds, at about a tenth of the machine's CPU).
            for (var i = 0; i < WarmUpRuns; i++)
            {
                await soap.RunToExitAsync("/bin/true");
                await raw.ExecAsync("/bin/true");
            }

            await soap.UploadAsync(GuestFile, 4 << 20);
            await soap.DownloadAsync(GuestFile);
            await raw.WriteFileAsync(Path.Combine(rawDirectory.FullName, "warm.bin"), 4 << 20, chunk);
            await raw.ReadFileAsync(Path.Combine(rawDirectory.FullName, "warm.bin"), chunk);
            await Task.Delay(TimeSpan.FromSeconds(1)); // the last compiles of the optimized tier run in the background

            var start = new List<double>();
            var startToExit = new List<double>();
            var rawExec = new List<double>();
            var up = new List<double>();
            var down = new List<double>();
            var rawUp = new List<double>();
            var rawDown = new List<double>();
            for (var round = 1; round <= options.Rounds; round++)
            {
                var roundStart = new List<double>();
                var roundExit = new List<double>();
                var roundRaw = new List<double>();
                var roundListings = 0;
                for (var i = 0; i < calls; i++)
                {
                    var (started, exited, listings) = await soap.RunToExitAsync("/bin/true");
                    roundListings += listings;
                    roundStart.Add(started);
                    roundExit.Add(exited);
                    var clock = Stopwatch.StartNew();
                    var code = await raw.ExecAsync("/bin/true");
                    roundRaw.Add(clock.Elapsed.TotalMilliseconds);
                    if (code != 0)
                    {
                        throw new InvalidOperationException($"qemu-ga: /bin/true exited with {code}.");
                    }
                }

                start.Add(Percentiles.Median(roundStart));
                startToExit.Add(Percentiles.Median(roundExit));
                rawExec.Add(Percentiles.Median(roundRaw));

                up.Add(await soap.UploadAsync(GuestFile, size));
                down.Add(await soap.DownloadAsync(GuestFile));
                var rawPath = Path.Combine(rawDirectory.FullName, "file.bin");
                var watch = Stopwatch.StartNew();
                await raw.WriteFileAsync(rawPath, size, chunk);
                rawUp.Add(watch.Elapsed.TotalSeconds);
                watch.Restart();
                var received = await raw.ReadFileAsync(rawPath, chunk);
                rawDown.Add(watch.Elapsed.TotalSeconds);
                if (received != size)
                {
                    throw new InvalidOperationException($"qemu-ga read {received} bytes, expected {size}.");
                }

                Console.WriteLine($"  round {round}: /bin/true ({calls} calls each, median): StartProgramInGuest {start[^1]:F2} ms, + ListProcessesInGuest to exit code {startToExit[^1]:F2} ms; "
                    + $"raw guest-exec + polling {rawExec[^1]:F2} ms; ListProcessesInGuest calls per run {(double)roundListings / calls:F1}");
                Console.WriteLine($"           {size >> 20} MiB: GuestOps up {Rate(size, up[^1])} down {Rate(size, down[^1])}; raw qemu-ga ({chunk >> 20} MiB chunks) up {Rate(size, rawUp[^1])} down {Rate(size, rawDown[^1])}; "
                    + $"load average {ProcFs.LoadAverage()}");
            }

            Console.WriteLine();
            Console.WriteLine($"== Summary: median of {options.Rounds} rounds");
            var verdicts = new List<string>();
            var execRatio = Percentiles.Median(startToExit) / Percentiles.Median(rawExec);
            var startRatio = Percentiles.Median(start) / Percentiles.Median(rawExec);
            Console.WriteLine($"/bin/true   StartProgramInGuest + ListProcessesInGuest to exit code {Percentiles.Median(startToExit),8:F2} ms   raw guest-exec + guest-exec-status {Percentiles.Median(rawExec),7:F2} ms   ratio {execRatio:F2}x (target <= {ExecTarget:F0}x)");
            Console.WriteLine($"            StartProgramInGuest alone (returns the pid)            {Percentiles.Median(start),8:F2} ms   ratio {startRatio:F2}x");
            verdicts.Add(execRatio <= ExecTarget ? $"exec: {execRatio:F2}x raw, target met." : $"BELOW TARGET: exec: {execRatio:F2}x raw (target <= {ExecTarget:F0}x).");
            foreach (var (direction, ours, theirs) in new[] { ("upload", up, rawUp), ("download", down, rawDown) })
            {
                var ratio = Percentiles.Median(theirs) / Percentiles.Median(ours);
                Console.WriteLine($"{direction,-9}   GuestOps {Rate(size, Percentiles.Median(ours)),12}   raw qemu-ga {Rate(size, Percentiles.Median(theirs)),12}   ratio {ratio:F2}x (target >= {TransferTarget:F1}x)");
                verdicts.Add(ratio >= TransferTarget ? $"{direction}: {ratio:F2}x raw, target met." : $"BELOW TARGET: {direction}: {ratio:F2}x raw (target >= {TransferTarget:F1}x).");
            }

            Console.WriteLine("ratio: exec = GuestOps time / raw time; transfers = GuestOps rate / raw rate.");
            Console.WriteLine();
            foreach (var verdict in verdicts)
            {
                Console.WriteLine(verdict);
            }
        }
        finally
        {
            rawDirectory.Delete(recursive: true);
        }

        return 0;
    }

    private static string Rate(long bytes, double seconds) => $"{bytes / seconds / 1e6:F1} MB/s";

    /// <summary>The guest-operation calls of the service side, as raw SOAP over the benchmark's HttpClient.</summary>
    private sealed class Calls(HttpClient http, string sessionKey, string password)
    {
        private string Vm => $"""<vm type="VirtualMachine">{VmId}</vm><auth xsi:type="NamePasswordAuthentication"><interactiveSession>false</interactiveSession><username>{GuestUser}</username><password>{SecurityElement.Escape(password)}</password></auth>""";

        /// <summary>StartProgramInGuest, then ListProcessesInGuest without pause until exitCode is set: both times in ms,
        /// and how many listings it took.</summary>
        public async Task<(double Started, double Exited, int Listings)> RunToExitAsync(string program)
        {
            var clock = Stopwatch.StartNew();
            var pid = (await CallAsync(
                $"""<StartProgramInGuest xmlns="urn:vim25"><_this type="GuestProcessManager">guestOperationsProcessManager</_this>{Vm}<spec xsi:type="GuestProgramSpec"><programPath>{program}</programPath><arguments></arguments></spec></StartProgramInGuest>"""))
                .Descendants(Vim + "returnval").Single().Value;
            var started = clock.Elapsed.TotalMilliseconds;
            var listings = 0;
            while (true)
            {
                listings++;
                var info = (await CallAsync(
                    $"""<ListProcessesInGuest xmlns="urn:vim25"><_this type="GuestProcessManager">guestOperationsProcessManager</_this>{Vm}<pids>{pid}</pids></ListProcessesInGuest>"""))
                    .Descendants(Vim + "returnval").Single();
                if (info.Element(Vim + "exitCode") is { } exitCode)
                {
                    return exitCode.Value == "0" ? (started, clock.Elapsed.TotalMilliseconds, listings) : throw new InvalidOperationException($"{program} exited with {exitCode.Value}.");
                }
            }
        }

        /// <summary>InitiateFileTransferToGuest + PUT of <paramref name="size"/> random-looking bytes: seconds.</summary>
        public async Task<double> UploadAsync(string path, long size)
        {
            var clock = Stopwatch.StartNew();
            var url = (await CallAsync(
                $"""<InitiateFileTransferToGuest xmlns="urn:vim25"><_this type="GuestFileManager">guestOperationsFileManager</_this>{Vm}<guestFilePath>{SecurityElement.Escape(path)}</guestFilePath><fileAttributes></fileAttributes><fileSize>{size}</fileSize><overwrite>true</overwrite></InitiateFileTransferToGuest>"""))
                .Descendants(Vim + "returnval").Single().Value;
            using var content = new TransferSuite.RepeatedContent(size);
            using var response = await http.PutAsync(Resolve(url), content);
            return response.StatusCode == HttpStatusCode.OK ? clock.Elapsed.TotalSeconds : throw new InvalidOperationException($"PUT {url}: {(int)response.StatusCode}");
        }

        /// <summary>InitiateFileTransferFromGuest + GET, the body counted: seconds.</summary>
        public async Task<double> DownloadAsync(string path)
        {
            var clock = Stopwatch.StartNew();
            var info = (await CallAsync(
                $"""<InitiateFileTransferFromGuest xmlns="urn:vim25"><_this type="GuestFileManager">guestOperationsFileManager</_this>{Vm}<guestFilePath>{SecurityElement.Escape(path)}</guestFilePath></InitiateFileTransferFromGuest>"""))
                .Descendants(Vim + "returnval").Single();
            var size = long.Parse(info.Element(Vim + "size")!.Value, System.Globalization.CultureInfo.InvariantCulture);
            using var response = await http.GetAsync(Resolve(info.Element(Vim + "url")!.Value), HttpCompletionOption.ResponseHeadersRead);
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[1 << 20];
            long received = 0;
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                received += n;
            }

            return received == size ? clock.Elapsed.TotalSeconds : throw new InvalidOperationException($"GET {path}: {received} bytes, expected {size}.");
        }

        private Uri Resolve(string url) => url.StartsWith("https://*:", StringComparison.Ordinal)
            ? new Uri(string.Concat("https://", http.BaseAddress!.Host, url.AsSpan("https://*".Length)))
            : new Uri(http.BaseAddress!, url);

        private async Task<XDocument> CallAsync(string body)
        {
            using var response = await http.SendAsync(InProcessLoad.CreateMessage(new Uri(http.BaseAddress!, BenchServer.SdkPath), new SoapRequest(BenchServer.Envelope(body), $"vmware_soap_session=\"{sessionKey}\"")));
            var text = await response.Content.ReadAsStringAsync();
            return response.StatusCode == HttpStatusCode.OK ? XDocument.Parse(text) : throw new InvalidOperationException($"SOAP call failed: {text}");
        }
    }
}
