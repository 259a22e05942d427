using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure.Qemu;

/// <summary>
/// A real KVM-style guest for the qemu-ga tests: qemu-system-x86_64 (KVM when /dev/kvm can be opened, TCG otherwise)
/// booting this machine's Debian kernel with an initramfs built at start by build-initramfs.sh (busybox, qemu-ga and
/// its libraries, PAM, one guest account with a random password), no network, and one virtio-serial port per agent
/// (org.qemu.guest_agent.N) on a unix chardev socket. <see cref="StartAsync"/> returns once every agent answers
/// guest-ping; <see cref="DisposeAsync"/> kills QEMU and deletes its directory.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuGuest : IAsyncDisposable
{
    /// <summary>What the guest needs on this machine (Debian packages); .ci/run installs them.</summary>
    public const string Packages = "qemu-system-x86 linux-image-amd64 busybox-static qemu-guest-agent cpio whois";

    public const string User = "guest";

    private const string Emulator = "qemu-system-x86_64";

    private readonly Process _qemu;
    private readonly StringBuilder _output = new();

    private QemuGuest(Process qemu, string directory, string password, IReadOnlyList<string> agentSockets, string accelerator, string kernel)
    {
        _qemu = qemu;
        Directory = directory;
        Password = password;
        AgentSockets = agentSockets;
        Accelerator = accelerator;
        Kernel = kernel;
    }

    /// <summary>The guest account's password (random per guest).</summary>
    public string Password { get; }

    /// <summary>The unix socket of org.qemu.guest_agent.N, by N.</summary>
    public IReadOnlyList<string> AgentSockets { get; }

    public string AgentSocket => AgentSockets[0];

    /// <summary>kvm or tcg.</summary>
    public string Accelerator { get; }

    public string Kernel { get; }

    /// <summary>From starting QEMU to the last agent's first guest-ping answer.</summary>
    public TimeSpan BootTime { get; private set; }

    public string Directory { get; }

    public string ConsoleLog => Path.Combine(Directory, "console.log");

    /// <summary>QEMU's own output and the guest's serial console, for failure messages.</summary>
    public string Diagnostics
    {
        get
        {
            string console;
            try
            {
                console = File.Exists(ConsoleLog) ? File.ReadAllText(ConsoleLog) : "(no console log)";
            }
            catch (IOException e)
            {
                console = e.Message;
            }

            lock (_output)
            {
                return $"--- QEMU ({Accelerator}, {Kernel}) ---{Environment.NewLine}{_output}--- guest console ---{Environment.NewLine}{SoapResponse.Shorten(console)}";
            }
        }
    }

    public bool HasExited => _qemu.HasExited;

    /// <param name="agents">Number of virtio-serial agent ports (org.qemu.guest_agent.0 ... N-1), one qemu-ga each.</param>
    public static async Task<QemuGuest> StartAsync(int agents = 1, int memoryMiB = 512, TimeSpan? bootTimeout = null, CancellationToken cancellationToken = default)
    {
        var emulator = FindEmulator() ?? throw Missing($"{Emulator} is not installed");
        var (kernel, version) = FindKernel() ?? throw Missing("no /boot/vmlinuz-* with its modules under /lib/modules");
        var script = Path.Combine(AppContext.BaseDirectory, "Infrastructure", "Qemu", "build-initramfs.sh");
        Assert.IsTrue(File.Exists(script), $"{script} is missing: the csproj copies it to the output.");

        var directory = System.IO.Directory.CreateTempSubdirectory("guestops-qemu-").FullName;
        var password = "Qemu-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var initramfs = Path.Combine(directory, "initramfs.cpio.gz");
        var build = await ProcessRunner.RunAsync("/bin/bash", [script, initramfs, version, User, password], TimeSpan.FromMinutes(3), directory);
        if (build.ExitCode != 0)
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw build.ExitCode == 3 ? Missing(build.StandardError.Trim()) : new AssertFailedException($"build-initramfs.sh failed: {build}");
        }

        var accelerator = KvmUsable() ? "kvm" : "tcg";
        var sockets = Enumerable.Range(0, agents).Select(n => Path.Combine(directory, $"qga{n}.sock")).ToList();
        var start = new ProcessStartInfo(emulator)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        string[] arguments =
        [
            "-machine", "q35", "-accel", accelerator, "-cpu", accelerator == "kvm" ? "host" : "max", "-smp", "1", "-m", $"{memoryMiB}M",
            "-kernel", kernel, "-initrd", initramfs,

            // no_timer_check: on a starved host (TCG on busy cores) the kernel's IO-APIC timer check fails and panics
            // ("IO-APIC + timer doesn't work!"), as seen here with two guests booting at once.
            "-append", "console=ttyS0 panic=-1 quiet no_timer_check",
            "-no-reboot", "-display", "none", "-monitor", "none", "-serial", $"file:{Path.Combine(directory, "console.log")}", "-nic", "none",
            "-device", "virtio-serial",
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        for (var n = 0; n < agents; n++)
        {
            foreach (var argument in new[]
            {
                "-chardev", $"socket,path={sockets[n]},server=on,wait=off,id=qga{n}",
                "-device", $"virtserialport,chardev=qga{n},name=org.qemu.guest_agent.{n}",
            })
            {
                start.ArgumentList.Add(argument);
            }
        }

        var clock = Stopwatch.StartNew();
        Process qemu;
        try
        {
            qemu = Process.Start(start) ?? throw new AssertFailedException($"{emulator} did not start.");
        }
        catch (Win32Exception e)
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw Missing($"cannot run {emulator}: {e.Message}");
        }

        var guest = new QemuGuest(qemu, directory, password, sockets, accelerator, Path.GetFileName(kernel));
        qemu.OutputDataReceived += (_, e) => guest.Append(e.Data);
        qemu.ErrorDataReceived += (_, e) => guest.Append(e.Data);
        qemu.BeginOutputReadLine();
        qemu.BeginErrorReadLine();
        try
        {
            // TCG on a busy 2-core machine boots in ~30 s; the limit only guards against a guest that never comes up.
            using var boot = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            boot.CancelAfter(bootTimeout ?? TimeSpan.FromMinutes(5));
            foreach (var socket in sockets)
            {
                await guest.PingAsync(socket, boot.Token);
            }

            guest.BootTime = clock.Elapsed;
            return guest;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or System.Net.Sockets.SocketException or QgaException)
        {
            var diagnostics = guest.Diagnostics;
            await guest.DisposeAsync();
            throw new AssertFailedException($"The QEMU guest did not answer guest-ping on its agent socket(s) ({e.GetType().Name}: {e.Message}).{Environment.NewLine}{diagnostics}");
        }
        catch
        {
            await guest.DisposeAsync();
            throw;
        }
    }

    /// <summary>A resynchronised connection to agent <paramref name="agent"/>.</summary>
    public Task<QgaConnection> ConnectAsync(int agent = 0, CancellationToken cancellationToken = default) =>
        QgaConnection.ConnectAsync(AgentSockets[agent], TimeSpan.FromSeconds(5), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_qemu.HasExited)
            {
                _qemu.Kill(entireProcessTree: true);
            }

            await _qemu.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            _qemu.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task PingAsync(string socket, CancellationToken cancellationToken)
    {
        // The chardev socket exists once QEMU runs; the agent answers once the guest has booted.
        while (!File.Exists(socket))
        {
            if (_qemu.HasExited)
            {
                throw new IOException($"QEMU exited with code {_qemu.ExitCode} before creating {socket}.");
            }

            await Task.Delay(100, cancellationToken);
        }

        using var exited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _ = _qemu.WaitForExitAsync(cancellationToken).ContinueWith(_ => exited.Cancel(), TaskScheduler.Default);
        await using var connection = await QgaConnection.ConnectAsync(socket, TimeSpan.FromSeconds(2), exited.Token);
        await connection.CallAsync("guest-ping", cancellationToken: cancellationToken);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(line).Append('\n');
        }
    }

    private static AssertFailedException Missing(string what) =>
        new($"The QEMU guest cannot run: {what}. Install: apt-get install {Packages} (.ci/run does).");

    private static string? FindEmulator() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, Emulator)).FirstOrDefault(File.Exists);

    /// <summary>The newest /boot/vmlinuz-VERSION that can be read and has /lib/modules/VERSION.</summary>
    private static (string Kernel, string Version)? FindKernel()
    {
        if (!System.IO.Directory.Exists("/boot"))
        {
            return null;
        }

        return System.IO.Directory.GetFiles("/boot", "vmlinuz-*")
            .Select(path => (Kernel: path, Version: Path.GetFileName(path)["vmlinuz-".Length..]))
            .Where(k => System.IO.Directory.Exists(Path.Combine("/lib/modules", k.Version)) && CanRead(k.Kernel))
            .OrderByDescending(k => k.Version, StringComparer.Ordinal)
            .Select(k => ((string, string)?)k)
            .FirstOrDefault();
    }

    private static bool CanRead(string path)
    {
        try
        {
            using var _ = File.OpenRead(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool KvmUsable()
    {
        try
        {
            using var _ = new FileStream("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
