using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace GuestOps.Reliability.Infrastructure;

/// <summary>
/// The real server as a child process (<c>dotnet GuestOps.Server.dll</c> of the server's own build, with the NativeAOT
/// worker published next to it): loopback HTTPS on a free port, a temporary state directory the sandboxes can reach
/// (0755), known root and guest passwords, sandboxed VMs <c>PREFIX-1..N</c>. Its output is drained and its internal
/// errors (<c>fail:</c>/<c>crit:</c> lines) counted; its resident memory is read from /proc.
/// </summary>
internal sealed partial class ChildServer : IAsyncDisposable
{
    public const string RootPassword = "Reliability-Root-Pa55!";
    public const string GuestPassword = "Reliability-Guest-Pa55!";

    private readonly Process _process;
    private readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _tail = new();
    private const int TailLines = 200;
    private readonly Lock _gate = new();
    private int _internalErrors;

    private ChildServer(Process process, string stateDirectory, int vmCount)
    {
        _process = process;
        StateDirectory = stateDirectory;
        VmCount = vmCount;
    }

    public string StateDirectory { get; }

    public int VmCount { get; }

    public Uri SdkUri { get; private set; } = null!;

    public Uri BaseUri => new(SdkUri, "/");

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Lines logged at fail or crit level so far.</summary>
    public int InternalErrors => Volatile.Read(ref _internalErrors);

    /// <summary>The last lines of output (for failures).</summary>
    public string Tail
    {
        get
        {
            lock (_gate)
            {
                return string.Join(Environment.NewLine, _tail);
            }
        }
    }

    public static async Task<ChildServer> StartAsync(string serverDll, int vms, string vmPrefix, IEnumerable<string> extraArguments, TimeSpan timeout)
    {
        var (start, state) = ServerProcess(serverDll, "guestops-rel-", ["--Logging:LogLevel:Default=Warning", .. extraArguments]);
        start.Environment["GUESTOPS_URLS"] = "https://127.0.0.1:0";
        start.Environment["GUESTOPS_STATE_DIR"] = state;
        start.Environment["GUESTOPS_ROOT_PASSWORD"] = RootPassword;
        start.Environment["GUESTOPS_DEMO_GUEST_PASSWORD"] = GuestPassword;
        start.Environment["GUESTOPS_PROVIDER"] = "sandbox";
        for (var i = 0; i < vms; i++)
        {
            start.Environment[$"GuestOps__VirtualMachines__{i}__Name"] = $"{vmPrefix}-{i + 1}";
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var server = new ChildServer(process, state, vms);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.Exited += (_, _) => server._ready.TrySetException(new InvalidOperationException($"The server exited before it was ready.{Environment.NewLine}{server.Tail}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            server.SdkUri = await server._ready.Task.WaitAsync(timeout);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary><c>dotnet SERVER.dll ARGUMENTS</c> in a new temporary state directory the sandboxes can reach (0755), its
    /// output redirected, with no GUESTOPS_* or GuestOps__* setting of this process passed on.</summary>
    internal static (ProcessStartInfo Start, string StateDirectory) ServerProcess(string serverDll, string statePrefix, IEnumerable<string> arguments)
    {
        var state = Directory.CreateTempSubdirectory(statePrefix).FullName;
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = state,
        };
        start.ArgumentList.Add(serverDll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in start.Environment.Keys.Where(n => n.StartsWith("GUESTOPS_", StringComparison.OrdinalIgnoreCase) || n.StartsWith("GuestOps__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        return (start, state);
    }

    /// <summary>VmRSS of the server process, MiB.</summary>
    public double ResidentMiB() => ProcFs.ResidentMiB(_process.Id);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The server's build: GuestOps.Server.dll under src/GuestOps.Server/bin/CONFIG/net10.0, found from this
    /// program's directory upwards (the same configuration as this program's build).</summary>
    public static string? FindServerDll(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : null;
        }

        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent?.Name ?? "Release";
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "GuestOps.Server", "bin", configuration, framework, "GuestOps.Server.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _internalErrors);
        }

        lock (_gate)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }

        var match = EndpointLine().Match(line);
        if (match.Success)
        {
            _ready.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    [GeneratedRegex(@"GuestOps vSphere API endpoint: (https://127\.0\.0\.1:\d+/sdk)")]
    private static partial Regex EndpointLine();
}

internal static class ProcFs
{
    public static double ResidentMiB(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }

        return double.NaN;
    }

    /// <summary>Total CPU time (user + system) of a process, in seconds.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}
