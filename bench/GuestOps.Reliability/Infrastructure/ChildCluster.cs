using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace GuestOps.Reliability.Infrastructure;

/// <summary>
/// A loopback cluster started by the server's own launcher (<c>dotnet GuestOps.Server.dll cluster ...</c>) as a child
/// process: redis-server, the host agents <c>host-1</c>... and the front ends <c>frontend-1</c>..., each a process of its
/// own. The launcher's output is drained (internal errors counted, the member URLs read); the members' process ids are
/// found in /proc (children of the launcher) for their memory and CPU.
/// </summary>
internal sealed partial class ChildCluster : IAsyncDisposable
{
    private const int SIGTERM = 15;

    private readonly Process _launcher;
    private readonly Dictionary<string, Uri> _urls = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _tail = new();
    private readonly Lock _gate = new();
    private int _internalErrors;
    private readonly List<string> _errorLines = [];
    private int _afterError;

    private ChildCluster(Process launcher, string stateDirectory)
    {
        _launcher = launcher;
        StateDirectory = stateDirectory;
    }

    public string StateDirectory { get; }

    /// <summary>Lines the members logged at fail or crit level so far.</summary>
    public int InternalErrors => Volatile.Read(ref _internalErrors);

    /// <summary>The first internal errors logged, each with the lines that followed it (its exception).</summary>
    public string ErrorLines
    {
        get
        {
            lock (_gate)
            {
                return string.Join(Environment.NewLine, _errorLines);
            }
        }
    }

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

    /// <summary>The front ends' SOAP endpoints (<c>https://127.0.0.1:PORT/sdk</c>), in order.</summary>
    public IReadOnlyList<Uri> FrontEnds
    {
        get
        {
            lock (_gate)
            {
                return _urls.Where(u => u.Key.StartsWith("frontend-", StringComparison.Ordinal)).OrderBy(u => u.Key, StringComparer.Ordinal).Select(u => new Uri(u.Value, "/sdk")).ToList();
            }
        }
    }

    /// <summary>Starts the launcher with these <c>cluster</c> arguments and waits until it reports every member answering.</summary>
    public static async Task<ChildCluster> StartAsync(string serverDll, IEnumerable<string> clusterArguments, IEnumerable<(string Name, string Value)> environment, TimeSpan timeout)
    {
        var (start, state) = ChildServer.ServerProcess(serverDll, "guestops-scale-", ["cluster", .. clusterArguments]);

        // The members inherit the launcher's environment, then get their own role, store, URL and state directory.
        start.Environment["GUESTOPS_STATE_DIR"] = state;
        start.Environment["GUESTOPS_ROOT_PASSWORD"] = ChildServer.RootPassword;
        start.Environment["GUESTOPS_DEMO_GUEST_PASSWORD"] = ChildServer.GuestPassword;
        start.Environment["GUESTOPS_PROVIDER"] = "sandbox";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var cluster = new ChildCluster(process, state);
        process.OutputDataReceived += (_, e) => cluster.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => cluster.OnLine(e.Data);
        process.Exited += (_, _) => cluster._ready.TrySetException(new InvalidOperationException($"The cluster launcher exited before the cluster was ready.{Environment.NewLine}{cluster.Tail}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        try
        {
            await cluster._ready.Task.WaitAsync(timeout);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>The process ids of the members whose name starts with <paramref name="prefix"/> (<c>host-</c>,
    /// <c>frontend-</c>), or of redis-server for <c>redis</c>.</summary>
    public IReadOnlyList<int> Pids(string prefix)
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (parent != _launcher.Id)
                {
                    continue;
                }

                if (prefix == "redis")
                {
                    if (File.ReadAllText($"/proc/{pid}/comm").Trim() == "redis-server")
                    {
                        result.Add(pid);
                    }

                    continue;
                }

                var environ = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
                if (environ.FirstOrDefault(e => e.StartsWith("GUESTOPS_HOST_NAME=", StringComparison.Ordinal)) is { } host
                    && host["GUESTOPS_HOST_NAME=".Length..].StartsWith(prefix, StringComparison.Ordinal))
                {
                    result.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
            }
        }

        return result;
    }

    /// <summary>The processes of one VM's sandbox: bwrap and the worker whose mounts come from the VM's directory
    /// (<c>.../vms/ID/</c>, read from /proc/PID/mountinfo; bwrap reads its arguments from a file, so its command line does
    /// not name the VM).</summary>
    public IReadOnlyList<int> GuestPids(string vmId)
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var comm = File.ReadAllText($"/proc/{pid}/comm").Trim();
                if ((comm == "bwrap" || comm.StartsWith("guestops-tools", StringComparison.Ordinal))
                    && File.ReadAllText($"/proc/{pid}/mountinfo").Contains($"/vms/{vmId}/", StringComparison.Ordinal))
                {
                    result.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_launcher.HasExited)
            {
                _ = kill(_launcher.Id, SIGTERM); // the launcher stops its members, then redis-server
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                try
                {
                    await _launcher.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    _launcher.Kill(entireProcessTree: true);
                    await _launcher.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        catch (InvalidOperationException)
        {
        }

        _launcher.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        var error = line.Contains("] fail:", StringComparison.Ordinal) || line.Contains("] crit:", StringComparison.Ordinal);
        if (error)
        {
            Interlocked.Increment(ref _internalErrors);
        }

        lock (_gate)
        {
            if (error && _errorLines.Count < 60)
            {
                _afterError = 6;
            }

            if (_afterError > 0)
            {
                _afterError--;
                _errorLines.Add(line);
            }

            _tail.Enqueue(line);
            while (_tail.Count > 200)
            {
                _tail.Dequeue();
            }

            if (MemberLine().Match(line) is { Success: true } member)
            {
                _urls[member.Groups[1].Value] = new Uri(member.Groups[2].Value);
            }
        }

        if (line.StartsWith("[cluster] root password", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }

    [GeneratedRegex(@"^\[cluster\] ((?:frontend|host)-\d+)\s+(https://\S+)\s")]
    private static partial Regex MemberLine();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
