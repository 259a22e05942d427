using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using GuestOps.Host.Providers;

namespace GuestOps.Server.Hosting;

/// <summary>What <c>cluster</c> starts: how many front ends and host agents, where their state lives, which redis-server;
/// each host agent's VMs: <see cref="VmsPerHost"/> with a tools worker, <see cref="VmsWithoutToolsPerHost"/> without tools
/// and <see cref="EchoVmsPerHost"/> with the echo provider (benchmarks only).</summary>
/// <param name="GuestIdRanges">Each host agent's <c>GuestOps:GuestIdRange</c>, one per host agent; null: each takes its own
/// (<c>auto</c>, or what the launcher's settings say).</param>
public sealed record ClusterLaunch(int FrontEnds, int HostAgents, int VmsPerHost, string StateDirectory, string RedisServer, int VmsWithoutToolsPerHost = 0, int EchoVmsPerHost = 0, IReadOnlyList<string>? GuestIdRanges = null);

/// <summary>
/// The <c>cluster</c> command: a whole GuestOps cluster on this machine's loopback, each member its own process of this
/// executable. It starts Debian's redis-server on a free port (nothing saved) as the membership store, then the host
/// agents (<c>GUESTOPS_ROLE=hostagent</c>, named <c>host-1</c> ..., each with its own demo VMs <c>host-1-vm-1</c> ...) and
/// the front ends (<c>frontend</c>), each on a free HTTPS port and in its own state directory under
/// <see cref="ClusterLaunch.StateDirectory"/>; every member gets the same root password and demo guest password (the
/// launcher's <c>GUESTOPS_ROOT_PASSWORD</c> / <c>GUESTOPS_DEMO_GUEST_PASSWORD</c>, else made up and printed once). The
/// members' output is shown with their names in front. Ctrl-C (SIGINT) or SIGTERM stops the members, then redis-server;
/// a member that exits on its own stops the whole cluster.
/// </summary>
public sealed class ClusterLauncher(ClusterLaunch launch, TextWriter stdout, TextWriter stderr)
{
    private const int SIGTERM = 15;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly List<Member> _members = [];

    /// <summary><c>GuestOps.Server cluster [--frontends N] [--hostagents M] [--vms-per-host K] [--vms-without-tools-per-host T]
    /// [--echo-vms-per-host E]</c>: the members' state goes
    /// under <c>cluster/</c> in the state directory (<c>--state-dir</c>).</summary>
    public static Command Command(ServerCommandLine commandLine, TextWriter stdout, TextWriter stderr)
    {
        var frontEnds = Count("--frontends", "Front ends (GUESTOPS_ROLE=frontend), each on its own HTTPS port", 1);
        var hostAgents = Count("--hostagents", "Host agents (GUESTOPS_ROLE=hostagent), host-1 ... host-M", 2);
        var vms = Count("--vms-per-host", "Demo VMs of each host agent (host-1-vm-1 ...)", 2);
        var withoutTools = Count("--vms-without-tools-per-host", "VMs without tools of each host agent (host-1-notools-1 ...; GUESTOPS_VMS_WITHOUT_TOOLS)", 0, 0, 100_000);
        var echo = Count("--echo-vms-per-host", "For benchmarks only: VMs whose dispatcher answers itself, of each host agent (host-1-echo-1 ...; GUESTOPS_ECHO_VMS)", 0, 0, 100_000);
        var redis = new Option<string>("--redis-server") { Description = "The redis-server executable (the membership store)", DefaultValueFactory = _ => "/usr/bin/redis-server" };
        var command = new Command(
            "cluster",
            "Runs a whole GuestOps cluster on this machine's loopback, each member its own process: redis-server on a free port, "
            + "the host agents, then the front ends, each on a free HTTPS port; prints their URLs when all answer. Ctrl-C stops them all.")
        {
            frontEnds, hostAgents, vms, withoutTools, echo, redis,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            GuestOpsOptions options;
            try
            {
                options = GuestOpsSettings.ReadOptions(AdminCommands.Configuration(commandLine.Settings(result)));
            }
            catch (GuestOpsConfigurationException e)
            {
                await stderr.WriteLineAsync($"GuestOps cluster: {e.Message}").ConfigureAwait(false);
                return ServerCommandLine.UsageExitCode;
            }

            // Host agents on one machine would each give their VMs the same slots of root's subordinate ids: each gets its own part.
            var guestIdRanges = OperatingSystem.IsLinux() && options.GuestIdRange.Trim() is "" or "auto" ? SandboxVmProvider.SplitGuestIdRange(result.GetValue(hostAgents)) : null;
            var launch = new ClusterLaunch(result.GetValue(frontEnds), result.GetValue(hostAgents), result.GetValue(vms), Path.Combine(options.StateDirectory, "cluster"), result.GetValue(redis)!, result.GetValue(withoutTools), result.GetValue(echo), guestIdRanges);
            return await new ClusterLauncher(launch, stdout, stderr).RunAsync(cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static Option<int> Count(string name, string description, int defaultValue, int min = 1, int max = 64)
    {
        var option = new Option<int>(name) { Description = $"{description} [default {defaultValue}]", DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < min || result.GetValueOrDefault<int>() > max)
            {
                result.AddError($"{name} needs a number in {min}..{max}.");
            }
        });
        return option;
    }
    private readonly Lock _output = new();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(launch.RedisServer))
        {
            await stderr.WriteLineAsync($"GuestOps cluster: {launch.RedisServer} is missing (Debian: apt-get install redis-server; or --redis-server PATH).").ConfigureAwait(false);
            return ServerCommandLine.UsageExitCode;
        }

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true; // stop the members first, then return from here
            stopping.Cancel();
        }

        var rootPassword = Environment.GetEnvironmentVariable("GUESTOPS_ROOT_PASSWORD") is { Length: > 0 } root ? root : MakePassword();
        var guestPassword = Environment.GetEnvironmentVariable("GUESTOPS_DEMO_GUEST_PASSWORD") is { Length: > 0 } guest ? guest : MakePassword();
        try
        {
            var redisPort = FreeLoopbackPort();
            var redis = Start("redis", launch.RedisServer,
                ["--port", Invariant(redisPort), "--bind", "127.0.0.1", "--dir", StateOf("redis"), "--save", "", "--appendonly", "no"], []);
            await WaitForRedisAsync(redis, redisPort, stopping.Token).ConfigureAwait(false);
            var store = $"redis://127.0.0.1:{redisPort}";

            var endpoints = new List<(string Name, string Url, string Detail)>();
            for (var i = 1; i <= launch.HostAgents; i++)
            {
                var name = $"host-{i}";
                var vms = string.Join(',', Enumerable.Range(1, launch.VmsPerHost).Select(v => $"{name}-vm-{v}"));
                var counted = (launch.VmsWithoutToolsPerHost > 0 ? $", {launch.VmsWithoutToolsPerHost} without tools" : "") + (launch.EchoVmsPerHost > 0 ? $", {launch.EchoVmsPerHost} echo" : "");
                var guestIds = launch.GuestIdRanges?[i - 1];
                endpoints.Add((name, StartMember(name, "hostagent", store, rootPassword, guestPassword,
                [
                    ("GUESTOPS_HOST_NAME", name), ("GUESTOPS_DEMO_VMS", vms),
                    ("GUESTOPS_VMS_WITHOUT_TOOLS", Invariant(launch.VmsWithoutToolsPerHost)), ("GUESTOPS_ECHO_VMS", Invariant(launch.EchoVmsPerHost)),
                    .. guestIds is null ? [] : new[] { ("GuestOps__GuestIdRange", guestIds) },
                ]), $"host agent, VMs {vms}{counted}{(guestIds is null ? "" : $", guest host ids {guestIds}")}"));
            }

            for (var i = 1; i <= launch.FrontEnds; i++)
            {
                var name = $"frontend-{i}";
                endpoints.Add((name, StartMember(name, "frontend", store, rootPassword, guestPassword, [("GUESTOPS_HOST_NAME", name)]), "front end"));
            }

            await WaitUntilReadyAsync(endpoints.Select(e => (e.Name, e.Url)).ToList(), stopping.Token).ConfigureAwait(false);
            Write("cluster", $"ready: membership store {store}");
            foreach (var (name, url, detail) in endpoints)
            {
                Write("cluster", $"{name,-12} {url,-28} {detail}");
            }

            Write("cluster", $"root password {rootPassword}, demo guest password {guestPassword}; Ctrl-C stops the cluster");
            _ = await Task.WhenAny(_members.Select(m => m.Process.WaitForExitAsync(stopping.Token))).ConfigureAwait(false);
            if (!stopping.IsCancellationRequested && _members.FirstOrDefault(m => m.Process.HasExited) is { } gone)
            {
                Write("cluster", $"{gone.Name} exited with code {gone.Process.ExitCode}: stopping the cluster");
                return 1;
            }

            return 0;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return 0;
        }
        catch (ClusterLaunchException e)
        {
            Write("cluster", e.Message);
            return 1;
        }
        finally
        {
            await StopAllAsync().ConfigureAwait(false);
        }
    }

    private string StartMember(string name, string role, string store, string rootPassword, string guestPassword, IEnumerable<(string Name, string Value)> settings)
    {
        var url = $"https://127.0.0.1:{FreeLoopbackPort()}";
        var (program, arguments) = ThisExecutable();
        Start(name, program, arguments,
        [
            ("GUESTOPS_ROLE", role),
            ("GUESTOPS_CLUSTER", store),
            ("GUESTOPS_URLS", url),
            ("GUESTOPS_STATE_DIR", StateOf(name)),
            ("GUESTOPS_ROOT_PASSWORD", rootPassword),
            ("GUESTOPS_DEMO_GUEST_PASSWORD", guestPassword),
            .. settings,
        ]);
        return url;
    }

    private Member Start(string name, string program, IReadOnlyList<string> arguments, IEnumerable<(string Name, string Value)> environment)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // nothing: a member never waits for a terminal
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new ClusterLaunchException($"{program} did not start.");
        var member = new Member(name, process);
        _members.Add(member);
        process.OutputDataReceived += (_, e) => Write(name, e.Data);
        process.ErrorDataReceived += (_, e) => Write(name, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return member;
    }

    /// <summary>This executable as a child process: the apphost itself, or <c>dotnet GuestOps.Server.dll</c>.</summary>
    private static (string Program, IReadOnlyList<string> Arguments) ThisExecutable()
    {
        var process = Environment.ProcessPath ?? throw new ClusterLaunchException("The path of this executable is unknown.");
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? (process, [typeof(ClusterLauncher).Assembly.Location])
            : (process, []);
    }

    private string StateOf(string name)
    {
        var directory = Path.Combine(launch.StateDirectory, name);
        Directory.CreateDirectory(directory);
        return directory;
    }

    private async Task WaitForRedisAsync(Member redis, int port, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (redis.Process.HasExited)
            {
                throw new ClusterLaunchException($"redis-server exited with code {redis.Process.ExitCode}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
                await using var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                var answer = new byte[7];
                if (await stream.ReadAsync(answer, cancellationToken).ConfigureAwait(false) >= 5 && answer.AsSpan().StartsWith("+PONG"u8))
                {
                    return;
                }
            }
            catch (SocketException) when (deadline.Elapsed < ReadyTimeout)
            {
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until every member answers its /sdk version document, or fails when one exits first.</summary>
    private async Task WaitUntilReadyAsync(IReadOnlyList<(string Name, string Url)> members, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler();
        // The members' certificates are the self-signed ones they made in their state directories just now.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        foreach (var (name, url) in members)
        {
            while (true)
            {
                if (_members.FirstOrDefault(m => m.Process.HasExited) is { } gone)
                {
                    throw new ClusterLaunchException($"{gone.Name} exited with code {gone.Process.ExitCode} before the cluster was ready.");
                }

                try
                {
                    using var response = await http.GetAsync(url + "/sdk/vimServiceVersions.xml", cancellationToken).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }

                if (deadline.Elapsed > ReadyTimeout)
                {
                    throw new ClusterLaunchException($"{name} did not answer at {url} within {ReadyTimeout.TotalMinutes:0} minutes.");
                }

                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>SIGTERM to the members (front ends and host agents first, redis-server last); each group is given
    /// <see cref="StopTimeout"/> to shut down, then what still runs of it is killed.</summary>
    private async Task StopAllAsync()
    {
        var redis = _members.Where(m => m.Name == "redis").ToList();
        foreach (var group in new[] { _members.Except(redis).ToList(), redis })
        {
            foreach (var member in group.Where(m => !m.Process.HasExited))
            {
                _ = kill(member.Process.Id, SIGTERM);
            }

            using var timeout = new CancellationTokenSource(StopTimeout);
            await Task.WhenAll(group.Select(async member =>
            {
                try
                {
                    await member.Process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Write("cluster", $"{member.Name} did not stop within {StopTimeout.TotalSeconds:0} s: killed");
                    member.Process.Kill(entireProcessTree: true);
                    await member.Process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                }

                member.Process.Dispose();
            })).ConfigureAwait(false);
        }

        Write("cluster", "stopped");
    }

    private void Write(string name, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            stdout.WriteLine($"[{name}] {line}");
            stdout.Flush();
        }
    }

    private static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string MakePassword() => "GuestOps-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private sealed record Member(string Name, Process Process);
}

/// <summary>The cluster could not be started; the message says why.</summary>
public sealed class ClusterLaunchException(string message) : Exception(message);
