using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>How to start a <see cref="ServerProcess"/>.</summary>
public sealed class ServerOptions
{
    /// <summary>The password every test uses for <c>root</c> unless it says otherwise.</summary>
    public const string DefaultRootPassword = "GuestOps-Test-Pa55!";

    /// <summary>GUESTOPS_ROOT_PASSWORD; null starts the server without it (it then generates one on first start).</summary>
    public string? RootPassword { get; init; } = DefaultRootPassword;

    /// <summary>An existing state directory (kept on dispose); default: a fresh temporary one (deleted on dispose).</summary>
    public string? StateDirectory { get; init; }

    /// <summary>VM names, bound as GuestOps__VirtualMachines__N__Name (entries of appsettings.json beyond these stay).</summary>
    public IReadOnlyList<string> VirtualMachineNames { get; init; } = [];

    /// <summary>Extra environment variables for the server process.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Extra command-line arguments, e.g. <c>--GuestOps:SessionIdleTimeout=00:00:02</c>.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>How long to wait for the server's ready line: a bound on waiting (a server that never starts fails the
    /// test), generous because a busy 2-core machine (load average 50 was seen) starts it slowly.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(120);
}

/// <summary>
/// The real server as a child process: <c>dotnet GuestOps.Server.dll</c> of the same configuration as the tests, on
/// https://127.0.0.1 with a free port, a temporary state directory and a known root password. The endpoint is read
/// from the line the server prints when it is ready; stdout and stderr are kept for assertions.
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    /// <summary>Servers not yet disposed; killed when the test host exits, so none outlives the test run.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ServerProcess, byte> Live = new();

    static ServerProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var server in Live.Keys)
            {
                try
                {
                    server._process.Kill(entireProcessTree: true);
                }
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                }
            }
        };
    }

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool _ownsStateDirectory;
    private int _disposed;

    private ServerProcess(ServerOptions options, string stateDirectory, bool ownsStateDirectory)
    {
        Options = options;
        StateDirectory = stateDirectory;
        _ownsStateDirectory = ownsStateDirectory;

        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = stateDirectory,
        };
        start.ArgumentList.Add(RepositoryLayout.ServerDll);
        foreach (var argument in options.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Nothing inherited may change what the test configured.
        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("GUESTOPS_", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("GuestOps__", StringComparison.OrdinalIgnoreCase)
                || name.Equals("ASPNETCORE_URLS", StringComparison.OrdinalIgnoreCase)
                || name.Equals("DOTNET_URLS", StringComparison.OrdinalIgnoreCase)
                || name.Equals("ASPNETCORE_ENVIRONMENT", StringComparison.OrdinalIgnoreCase)
                || name.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(name);
            }
        }

        start.Environment["GUESTOPS_URLS"] = "https://127.0.0.1:0";
        start.Environment["GUESTOPS_STATE_DIR"] = stateDirectory;
        if (options.RootPassword is not null)
        {
            start.Environment["GUESTOPS_ROOT_PASSWORD"] = options.RootPassword;
        }

        for (var i = 0; i < options.VirtualMachineNames.Count; i++)
        {
            start.Environment[$"GuestOps__VirtualMachines__{i}__Name"] = options.VirtualMachineNames[i];
        }

        foreach (var (name, value) in options.Environment)
        {
            start.Environment[name] = value;
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, _stdout);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, _stderr);
        _process.Exited += (_, _) =>
        {
            if (_ready.Task.IsCompleted)
            {
                return;
            }

            // Let the redirected streams drain so the failure shows everything the server said.
            _ = Task.Run(() =>
            {
                try
                {
                    _process.WaitForExit(2000);
                }
                catch (InvalidOperationException)
                {
                }

                _ready.TrySetException(new InvalidOperationException(
                    $"The server exited (code {SafeExitCode()}) before it was ready.{Environment.NewLine}{AllOutput}"));
            });
        };
    }

    public ServerOptions Options { get; }

    public string StateDirectory { get; }

    /// <summary>The password tests should use for root (the configured one; null when the server generated it).</summary>
    public string? RootPassword => Options.RootPassword;

    /// <summary>https://127.0.0.1:PORT/</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary>https://127.0.0.1:PORT/sdk</summary>
    public Uri SdkUri { get; private set; } = null!;

    public int Port => BaseUri.Port;

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string StandardOutput
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    public string AllOutput => $"--- stdout ---{Environment.NewLine}{StandardOutput}--- stderr ---{Environment.NewLine}{StandardError}";

    /// <summary>Starts a server and waits (bounded) until it prints its endpoint.</summary>
    public static async Task<ServerProcess> StartAsync(ServerOptions? options = null)
    {
        options ??= new ServerOptions();
        var owns = options.StateDirectory is null;
        var state = options.StateDirectory ?? Directory.CreateTempSubdirectory("guestops-it-").FullName;
        var server = new ServerProcess(options, state, owns);
        try
        {
            await server.StartCoreAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Lines of the server's output that report an internal error (logged exceptions, crashes).</summary>
    public IReadOnlyList<string> InternalErrorLines() =>
        (StandardOutput + StandardError).Split('\n')
            .Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal)
                || l.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase))
            .Select(l => l.TrimEnd('\r'))
            .ToList();

    /// <summary>Kills the process (tree) and waits for it, bounded. Safe to call twice.</summary>
    public async Task StopAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // not started or already gone
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // leave it; nothing else can be done
        }
        catch (InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync();
        Live.TryRemove(this, out _);
        _process.Dispose();
        if (_ownsStateDirectory)
        {
            try
            {
                Directory.Delete(StateDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    public override string ToString() => $"GuestOps server pid {SafeId()} at {SdkUri}";

    private async Task StartCoreAsync()
    {
        _process.Start();
        Live[this] = 0;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Options.StartTimeout);
        try
        {
            SdkUri = await _ready.Task.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The server did not print its endpoint within {Options.StartTimeout.TotalSeconds:0} s.{Environment.NewLine}{AllOutput}");
        }

        BaseUri = new Uri(SdkUri, "/");
    }

    private void OnLine(string? line, StringBuilder sink)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            sink.Append(line).Append('\n');
        }

        var match = EndpointLine().Match(line);
        if (match.Success)
        {
            _ready.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private string SafeExitCode()
    {
        try
        {
            return _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    private string SafeId()
    {
        try
        {
            return _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    /// <summary>The dotnet host running these tests (the SDK sets DOTNET_HOST_PATH), else dotnet from PATH.</summary>
    internal static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    [GeneratedRegex(@"GuestOps vSphere API endpoint: (https://127\.0\.0\.1:\d+/sdk)")]
    private static partial Regex EndpointLine();
}
