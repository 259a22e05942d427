using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace GuestOps.Benchmarks;

/// <summary>
/// Debian's wrk as the load generator: <c>wrk -t T -c N -d S</c> with a Lua script that sets the POST body and the
/// headers, against the in-process server. A first run is the warm-up, the second is measured. wrk takes whole
/// seconds, so durations are rounded up. wrk runs as its own process, on the same 2 cores.
/// </summary>
internal sealed class WrkLoad(string wrkPath, int threads, DirectoryInfo scratch)
{
    private int _scripts;

    public static bool IsAvailable(string path) => File.Exists(path);

    public async Task<Measurement> RunAsync(Uri uri, SoapRequest request, int connections, TimeSpan warmup, TimeSpan duration, IReadOnlyList<int>? guestPids = null)
    {
        var script = WriteScript(request);
        if (warmup > TimeSpan.Zero)
        {
            await RunWrkAsync(uri, script, connections, warmup);
        }

        var cpu = CpuMeter.Start(guestPids);
        var output = await RunWrkAsync(uri, script, connections, duration);
        var cpuSample = cpu.Stop();

        // The script's done() prints: requests duration_us p50_us p99_us connect read write status timeout
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("GUESTOPS-BENCH ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("wrk printed no summary:\n" + output);
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var errors = (long)(f[4] + f[5] + f[6] + f[7] + f[8]);
        return new Measurement((long)f[0] - (long)f[7], f[1] / 1e6, f[2] / 1000, f[3] / 1000, errors, cpuSample);
    }

    private async Task<string> RunWrkAsync(Uri uri, string script, int connections, TimeSpan duration)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        var start = new ProcessStartInfo(wrkPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{seconds}s", "--timeout", "10s", "-s", script, uri.ToString() })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {wrkPath}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk exited with {process.ExitCode}: {await stderr}{await stdout}");
        }

        return await stdout;
    }

    private string WriteScript(SoapRequest request)
    {
        var n = Interlocked.Increment(ref _scripts);
        var bodyPath = Path.Combine(scratch.FullName, $"body-{n}.xml");
        File.WriteAllBytes(bodyPath, request.Body);
        var lua = new StringBuilder()
            .AppendLine("wrk.method = \"POST\"")
            .AppendLine(CultureInfo.InvariantCulture, $"local f = assert(io.open({LuaString(bodyPath)}, \"rb\"))")
            .AppendLine("wrk.body = f:read(\"*a\")")
            .AppendLine("f:close()")
            .AppendLine(CultureInfo.InvariantCulture, $"wrk.headers[\"Content-Type\"] = {LuaString(SoapRequest.ContentType)}")
            .AppendLine(CultureInfo.InvariantCulture, $"wrk.headers[\"SOAPAction\"] = {LuaString(SoapRequest.SoapAction)}");
        if (request.Cookie is not null)
        {
            lua.AppendLine(CultureInfo.InvariantCulture, $"wrk.headers[\"Cookie\"] = {LuaString(request.Cookie)}");
        }

        lua.AppendLine("done = function(summary, latency, requests)")
            .AppendLine("  local e = summary.errors")
            .AppendLine("  io.write(string.format(\"GUESTOPS-BENCH %d %d %d %d %d %d %d %d %d\\n\", summary.requests, summary.duration,")
            .AppendLine("    latency:percentile(50), latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))")
            .AppendLine("end");
        var scriptPath = Path.Combine(scratch.FullName, $"request-{n}.lua");
        File.WriteAllText(scriptPath, lua.ToString());
        return scriptPath;
    }

    private static string LuaString(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
