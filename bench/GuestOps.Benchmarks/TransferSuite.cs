using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GuestOps.Client;
using GuestOps.Host;
using GuestOps.Host.Providers;
using GuestOps.Vim;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GuestOps.Benchmarks;

/// <summary>
/// Issue 5's acceptance figures, one run, one disk: a file uploaded and downloaded through the transfer URL
/// (InitiateFileTransferToGuest/FromGuest, then HTTPS PUT/GET of /guestFile: Kestrel → dispatcher → channel data
/// frames → sandboxed worker → file) against (1) a raw Kestrel PUT/GET endpoint of the same server process streaming
/// the same body to/from a file in the same directory, and (2) qemu-ga (Debian qemu-guest-agent on a unix socket, no VM)
/// guest-file-write/read with base64 chunks. Then the RSS growth of the server process and of the worker during a
/// larger transfer each way.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class TransferSuite
{
    private const double RawTarget = 0.7;
    private const double QemuTarget = 10;
    private const double RssTargetMiB = 64;
    private const string VmId = "vm-1";
    private const string GuestDirectory = "/tmp/bench-transfer";
    private const string RawRoute = "/rawfile";
    private const int BodyBlock = 1 << 20;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        if (WorkerBinary.ResolveForSandboxes(options.WorkerPath, "transfer") is not { } worker)
        {
            return 3;
        }

        Console.WriteLine("GuestOps benchmark: file transfer URLs vs a raw Kestrel PUT/GET endpoint and vs qemu-ga, same disk");
        Console.WriteLine(BenchMachine.Describe());
        Console.WriteLine($"Worker: {WorkerBinary.Describe(worker)}");

        var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var rawDirectory = new System.Runtime.CompilerServices.StrongBox<string>();
        await using var server = await BenchServer.StartAsync([], new BenchServerSettings
        {
            Provider = "sandbox",
            WorkerPath = worker,
            Password = password,
            GuestCredentialCacheSeconds = 30,
            Routes = app => MapRawFileEndpoint(app, rawDirectory),
        });
        var session = await server.LogInAsync();
        await server.WaitForGuestsAsync(session, TimeSpan.FromSeconds(30));
        var hostAgent = server.Services.GetRequiredService<HostAgent>();
        var sandbox = hostAgent.GuestProcessId(VmId) ?? throw new InvalidOperationException($"{VmId} has no guest process.");
        var workerPid = ProcFs.FindInTree(sandbox, "guestops-tools") ?? throw new InvalidOperationException("No guestops-tools in the sandbox.");

        // Everything lands in one host directory: the guest's /tmp/bench-transfer (ours) and a sibling for the others.
        var guestRoot = Path.Combine(server.StateDirectory, "vms", VmId, "guest");
        var hostDirectory = Path.Combine(guestRoot, GuestDirectory.TrimStart('/'));
        Directory.CreateDirectory(hostDirectory);
        ProcFs.Chown(hostDirectory, ProcFs.IdOffset(workerPid), ProcFs.IdOffset(workerPid, group: true));
        var otherDirectory = Directory.CreateDirectory(Path.Combine(guestRoot, "tmp", "bench-baselines")).FullName;
        rawDirectory.Value = otherDirectory;
        Console.WriteLine($"Disk: {hostDirectory} (guest {GuestDirectory}, as guest root) and {otherDirectory} (raw endpoint, qemu-ga); {FileSystem(hostDirectory)}");
        Console.WriteLine($"Client: HttpClient in this process, HTTPS/1.1, body generated from a 1 MiB block, response bodies counted (not kept); "
            + $"{options.Rounds} rounds alternating GuestOps and raw; server, client and worker share the cores.");
        Console.WriteLine();

        using var handler = InProcessLoad.CreateHandler(4);
        using var http = new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(30) };
        await using var vim = await VimConnection.ConnectAsync(
            new Uri(server.BaseAddress, BenchServer.SdkPath), new VimConnectionOptions { AcceptAnyServerCertificate = true, Timeout = TimeSpan.FromMinutes(30) });
        await vim.LoginAsync("root", password);
        var soap = new SoapCalls(vim, password);
        var size = options.TransferBytes;

        // Warm-up: 256 MiB each way on each side (connection, and enough iterations of the copy loops for the JIT to
        // tier them up: with 8 MiB, the first GuestOps round still ran partly on unoptimized code, 15-20 % slower).
        await MeasureOursAsync(soap, http, GuestDirectory + "/warm.bin", 256 << 20);
        await MeasureRawAsync(http, "warm.bin", 256 << 20);
        File.Delete(Path.Combine(hostDirectory, "warm.bin"));
        File.Delete(Path.Combine(otherDirectory, "warm.bin"));

        var results = new List<(string Side, string Direction, double Seconds)>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            var (up, down) = await MeasureOursAsync(soap, http, GuestDirectory + "/file.bin", size);
            results.Add(("GuestOps", "upload", up));
            results.Add(("GuestOps", "download", down));
            var (rawUp, rawDown) = await MeasureRawAsync(http, "file.bin", size);
            results.Add(("raw", "upload", rawUp));
            results.Add(("raw", "download", rawDown));
            Console.WriteLine($"  round {round}: GuestOps up {Rate(size, up)} down {Rate(size, down)}; raw up {Rate(size, rawUp)} down {Rate(size, rawDown)}; load average {ProcFs.LoadAverage()}");
            File.Delete(Path.Combine(hostDirectory, "file.bin"));
            File.Delete(Path.Combine(otherDirectory, "file.bin"));
        }

        (double Up, double Down)? qemu = null;
        if (File.Exists(RawQemuGuestAgent.Binary))
        {
            qemu = await MeasureQemuAsync(otherDirectory, options.QemuBytes, options.QemuChunk);
            Console.WriteLine($"  qemu-ga ({options.QemuBytes >> 20} MiB, {options.QemuChunk >> 10} KiB base64 chunks): up {Rate(options.QemuBytes, qemu.Value.Up)} down {Rate(options.QemuBytes, qemu.Value.Down)}");
        }
        else
        {
            Console.WriteLine($"  qemu-ga: {RawQemuGuestAgent.Binary} not installed (Debian package qemu-guest-agent); comparison skipped.");
        }

        Console.WriteLine();
        Console.WriteLine($"== Memory: RSS growth during a {options.RssBytes >> 20} MiB transfer each way (sampled every 20 ms; server = this process, incl. the client)");
        var (serverUp, workerUp) = await WatchMemoryAsync(workerPid, () => MeasureOursAsync(soap, http, GuestDirectory + "/rss.bin", options.RssBytes, downloadToo: false));
        var (serverDown, workerDown) = await WatchMemoryAsync(workerPid, () => DownloadOursAsync(soap, http, GuestDirectory + "/rss.bin", options.RssBytes));
        File.Delete(Path.Combine(hostDirectory, "rss.bin"));
        Console.WriteLine($"  upload:   server +{serverUp:F1} MiB, worker +{workerUp:F1} MiB");
        Console.WriteLine($"  download: server +{serverDown:F1} MiB, worker +{workerDown:F1} MiB");

        Console.WriteLine();
        Console.WriteLine($"== Summary: {size >> 20} MiB each way, median of {options.Rounds} rounds");
        var verdicts = new List<string>();
        foreach (var direction in new[] { "upload", "download" })
        {
            var ours = Percentiles.Median(results.Where(r => r.Side == "GuestOps" && r.Direction == direction).Select(r => r.Seconds));
            var raw = Percentiles.Median(results.Where(r => r.Side == "raw" && r.Direction == direction).Select(r => r.Seconds));
            var ratio = raw / ours;
            var line = $"{direction,-9} GuestOps {Rate(size, ours),12}  raw Kestrel {Rate(size, raw),12}  ratio {ratio:F2}x (target >= {RawTarget:F1}x)";
            verdicts.Add(ratio >= RawTarget ? $"{direction} vs raw: {ratio:F2}x, target met." : $"BELOW TARGET: {direction} vs raw: {ratio:F2}x (target >= {RawTarget:F1}x).");
            if (qemu is { } q)
            {
                var qemuSeconds = direction == "upload" ? q.Up : q.Down;
                var qemuRate = options.QemuBytes / qemuSeconds;
                var speedup = size / ours / qemuRate;
                line += $"  qemu-ga {Rate(options.QemuBytes, qemuSeconds),12}  speed-up {speedup:F1}x (target >= {QemuTarget:F0}x)";
                verdicts.Add(speedup >= QemuTarget ? $"{direction} vs qemu-ga: {speedup:F1}x, target met." : $"BELOW TARGET: {direction} vs qemu-ga: {speedup:F1}x (target >= {QemuTarget:F0}x).");
            }

            Console.WriteLine(line);
        }

        var peak = new[] { serverUp, workerUp, serverDown, workerDown }.Max();
        verdicts.Add(peak <= RssTargetMiB ? $"RSS growth at most {peak:F1} MiB, target <= {RssTargetMiB:F0} MiB met." : $"ABOVE TARGET: RSS growth {peak:F1} MiB (target <= {RssTargetMiB:F0} MiB).");
        foreach (var verdict in verdicts)
        {
            Console.WriteLine(verdict);
        }

        return 0;
    }

    private static string Rate(long bytes, double seconds) => $"{bytes / seconds / (1 << 20),7:F0} MiB/s";

    private static string FileSystem(string path)
    {
        var drive = new DriveInfo(path);
        return $"file system {drive.DriveFormat}, {drive.AvailableFreeSpace >> 30} GiB free";
    }

    // ---------------------------------------------------------------- GuestOps

    private static async Task<(double Up, double Down)> MeasureOursAsync(SoapCalls soap, HttpClient http, string guestPath, long size, bool downloadToo = true)
    {
        var clock = Stopwatch.StartNew();
        var url = await soap.InitiateToGuestAsync(guestPath, size);
        await PutAsync(http, url, size);
        var up = clock.Elapsed.TotalSeconds;
        return (up, downloadToo ? await DownloadOursAsync(soap, http, guestPath, size) : 0);
    }

    private static async Task<double> DownloadOursAsync(SoapCalls soap, HttpClient http, string guestPath, long size)
    {
        var clock = Stopwatch.StartNew();
        var url = await soap.InitiateFromGuestAsync(guestPath);
        await GetAsync(http, url, size);
        return clock.Elapsed.TotalSeconds;
    }

    // ---------------------------------------------------------------- raw Kestrel

    private static async Task<(double Up, double Down)> MeasureRawAsync(HttpClient http, string name, long size)
    {
        var clock = Stopwatch.StartNew();
        await PutAsync(http, $"{RawRoute}?name={name}", size);
        var up = clock.Elapsed.TotalSeconds;
        clock.Restart();
        await GetAsync(http, $"{RawRoute}?name={name}", size);
        return (up, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The baseline: PUT streams the body into a new, preallocated file, GET streams the file back with
    /// Content-Length, each through one 256 KiB buffer (what a minimal Kestrel file endpoint does).</summary>
    private static void MapRawFileEndpoint(WebApplication app, System.Runtime.CompilerServices.StrongBox<string> directory)
    {
        app.MapPut(RawRoute, async (HttpContext context) =>
        {
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
            var path = Path.Combine(directory.Value!, Path.GetFileName(context.Request.Query["name"].ToString()));
            // Preallocated like the worker's staging file (fallocate): on ext4 that alone changes fresh-file write speed a lot.
            await using var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
                PreallocationSize = context.Request.ContentLength ?? 0,
            });
            await context.Request.Body.CopyToAsync(file, 256 * 1024, context.RequestAborted);
            context.Response.StatusCode = StatusCodes.Status200OK;
        });
        app.MapGet(RawRoute, async (HttpContext context) =>
        {
            var path = Path.Combine(directory.Value!, Path.GetFileName(context.Request.Query["name"].ToString()));
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = file.Length;
            await file.CopyToAsync(context.Response.Body, 256 * 1024, context.RequestAborted);
        });
    }

    // ---------------------------------------------------------------- HTTP client side

    private static async Task PutAsync(HttpClient http, string url, long size)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, Resolve(http, url)) { Content = new RepeatedContent(size), Version = HttpVersion.Version11 };
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"PUT {url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task GetAsync(HttpClient http, string url, long size)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Resolve(http, url)) { Version = HttpVersion.Version11 };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = ArrayPool<byte>.Shared.Rent(BodyBlock);
        long total = 0;
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
        {
            total += n;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        if (total != size)
        {
            throw new InvalidOperationException($"GET {url}: {total} bytes, expected {size}.");
        }
    }

    /// <summary>A transfer URL (<c>https://*:PORT/...</c>) or a path, against the server.</summary>
    private static Uri Resolve(HttpClient http, string url) => url.StartsWith("https://*:", StringComparison.Ordinal)
        ? new Uri(string.Concat("https://", http.BaseAddress!.Host, url.AsSpan("https://*".Length)))
        : new Uri(http.BaseAddress!, url);

    /// <summary>A request body of <c>size</c> bytes repeating one random 1 MiB block.</summary>
    internal sealed class RepeatedContent : HttpContent
    {
        private readonly long _size;

        public RepeatedContent(long size)
        {
            _size = size;
            Headers.ContentLength = size;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var block = new byte[BodyBlock];
            new Random(5).NextBytes(block);
            for (long sent = 0; sent < _size;)
            {
                var n = (int)Math.Min(block.Length, _size - sent);
                await stream.WriteAsync(block.AsMemory(0, n));
                sent += n;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _size;
            return true;
        }
    }

    /// <summary>The two SOAP calls of a transfer, through the typed client (GuestOps.Client) as guest root.</summary>
    private sealed class SoapCalls(VimConnection vim, string password)
    {
        private static readonly ManagedObjectReference FileManager = new("GuestFileManager", "guestOperationsFileManager");
        private static readonly ManagedObjectReference Vm = new("VirtualMachine", VmId);

        private NamePasswordAuthentication Auth => new() { username = "root", password = password, interactiveSession = false };

        public Task<string> InitiateToGuestAsync(string path, long size) =>
            vim.Port.InitiateFileTransferToGuestAsync(FileManager, Vm, Auth, path, new GuestFileAttributes(), size, true);

        public async Task<string> InitiateFromGuestAsync(string path) =>
            (await vim.Port.InitiateFileTransferFromGuestAsync(FileManager, Vm, Auth, path)).url;
    }

    // ---------------------------------------------------------------- qemu-ga

    /// <summary>qemu-ga's guest-file-open/write/read/close over its unix socket (JSON lines, base64 data), as a
    /// management client drives it; the agent runs without a VM (-m unix-listen).</summary>
    private static async Task<(double Up, double Down)> MeasureQemuAsync(string directory, long size, int chunk)
    {
        await using var agent = await RawQemuGuestAgent.StartAsync();
        var path = Path.Combine(directory, "qga.bin");
        var clock = Stopwatch.StartNew();
        await agent.WriteFileAsync(path, size, chunk);
        var up = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var received = await agent.ReadFileAsync(path, chunk);
        var down = clock.Elapsed.TotalSeconds;
        File.Delete(path);
        return received == size ? (up, down) : throw new InvalidOperationException($"qemu-ga read {received} bytes, expected {size}.");
    }

    // ---------------------------------------------------------------- memory

    /// <summary>Peak RSS minus RSS before, of this process and of the worker, while <paramref name="transfer"/> runs.</summary>
    private static async Task<(double ServerMiB, double WorkerMiB)> WatchMemoryAsync(int workerPid, Func<Task> transfer)
    {
        GC.Collect();
        var self = Environment.ProcessId;
        long serverBase = ProcFs.Memory(self).VmRssKiB, workerBase = ProcFs.Memory(workerPid).VmRssKiB;
        long serverPeak = serverBase, workerPeak = workerBase;
        var task = transfer();
        while (!task.IsCompleted)
        {
            serverPeak = Math.Max(serverPeak, ProcFs.Memory(self).VmRssKiB);
            workerPeak = Math.Max(workerPeak, ProcFs.Memory(workerPid).VmRssKiB);
            await Task.WhenAny(task, Task.Delay(20));
        }

        await task;
        return (ProcessMemory.MiB(serverPeak - serverBase), ProcessMemory.MiB(workerPeak - workerBase));
    }
}
