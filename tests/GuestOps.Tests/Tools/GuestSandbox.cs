using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace GuestOps.Tests.Tools;

/// <summary>
/// A throwaway simulated guest: a bubblewrap sandbox with its own /etc (generated passwd, shadow with SHA-512 hashes
/// from mkpasswd, group, nsswitch, a PAM service for the worker), /home, /tmp, its own PID and UTS namespaces and host
/// name, and the host's /usr read-only. Nothing on this machine's /etc is touched. The worker runs inside as root.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class GuestSandbox : IAsyncDisposable
{
    public const string PamService = "guestops-tools";
    private readonly StringBuilder _log = new();
    private Process? _worker;

    private GuestSandbox(string root, string hostName)
    {
        Root = root;
        HostName = hostName;
    }

    public string Root { get; }

    public string HostName { get; }

    /// <summary>The host-side path of the channel socket (bind-mounted at /run/guestops/channel.sock inside).</summary>
    public string SocketPath => Path.Combine(Root, "run", "channel.sock");

    public string WorkerLog
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Why the sandbox cannot run here, or null.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return "Linux x64/arm64 only";
        }

        if (GuestOps.Tools.Native.LibC.geteuid() != 0)
        {
            return "needs root";
        }

        foreach (var tool in new[] { "/usr/bin/bwrap", "/usr/bin/mkpasswd" })
        {
            if (!File.Exists(tool))
            {
                return tool + " is missing (packages bubblewrap, whois)";
            }
        }

        return null;
    }

    public static async Task<GuestSandbox> CreateAsync(string hostName, IReadOnlyDictionary<string, (uint Uid, string Password)> users)
    {
        var root = Directory.CreateTempSubdirectory("guestops-guest-").FullName;
        var sandbox = new GuestSandbox(root, hostName);
        foreach (var d in new[] { "etc/pam.d", "home", "tmp", "run", "root" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)0x3FF); // 1777
        var passwd = new StringBuilder("root:x:0:0:root:/root:/bin/sh\n");
        var shadow = new StringBuilder();
        var group = new StringBuilder("root:x:0:\n");
        shadow.Append("root:").Append(await HashAsync(users.TryGetValue("root", out var r) ? r.Password : "root-" + Guid.NewGuid())).Append(":19000:0:99999:7:::\n");
        foreach (var (name, (uid, password)) in users)
        {
            if (name == "root")
            {
                continue;
            }

            passwd.Append($"{name}:x:{uid}:{uid}::/home/{name}:/bin/sh\n");
            group.Append($"{name}:x:{uid}:\n");
            shadow.Append($"{name}:{await HashAsync(password)}:19000:0:99999:7:::\n");
            var home = Path.Combine(root, "home", name);
            Directory.CreateDirectory(home);
            await File.WriteAllTextAsync(Path.Combine(home, "secret.txt"), $"{name}'s secret\n");
            Run("chown", "-R", $"{uid}:{uid}", home);
            File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var etc = Path.Combine(root, "etc");
        await File.WriteAllTextAsync(Path.Combine(etc, "passwd"), passwd.ToString());
        await File.WriteAllTextAsync(Path.Combine(etc, "group"), group.ToString());
        await File.WriteAllTextAsync(Path.Combine(etc, "shadow"), shadow.ToString());
        File.SetUnixFileMode(Path.Combine(etc, "shadow"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllTextAsync(Path.Combine(etc, "nsswitch.conf"), "passwd: files\ngroup: files\nshadow: files\nhosts: files\n");
        await File.WriteAllTextAsync(Path.Combine(etc, "hosts"), $"127.0.0.1 localhost {hostName}\n");
        await File.WriteAllTextAsync(Path.Combine(etc, "pam.d", PamService), "auth required pam_unix.so\naccount required pam_unix.so\n");
        return sandbox;
    }

    /// <summary>Extra bubblewrap options (e.g. the sandbox provider's <c>--cap-drop ALL --cap-add ...</c>).</summary>
    public IReadOnlyList<string> BwrapOptions { get; set; } = [];

    /// <summary>Starts the worker inside the sandbox: GUESTOPS_TOOLS_BINARY (e.g. the NativeAOT build) or the built dll.</summary>
    public void StartWorker(params string[] extraArgs)
    {
        var toolsDir = AppContext.BaseDirectory;
        var dotnetRoot = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var native = Environment.GetEnvironmentVariable("GUESTOPS_TOOLS_BINARY");
        var args = new List<string>
        {
            "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--hostname", HostName, "--die-with-parent",
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
            "--proc", "/proc", "--dev", "/dev",
            "--bind", Path.Combine(Root, "etc"), "/etc",
            "--bind", Path.Combine(Root, "home"), "/home",
            "--bind", Path.Combine(Root, "root"), "/root",
            "--bind", Path.Combine(Root, "tmp"), "/tmp",
            "--bind", Path.Combine(Root, "run"), "/run/guestops",
            "--ro-bind", toolsDir, "/opt/guestops-tools",
            "--setenv", "HOME", "/root", "--setenv", "DOTNET_ROOT", dotnetRoot, "--setenv", "DOTNET_EnableDiagnostics", "0",
            "--chdir", "/",
        };
        if (!dotnetRoot.StartsWith("/usr/", StringComparison.Ordinal))
        {
            args.InsertRange(args.IndexOf("--proc"), ["--ro-bind", dotnetRoot, dotnetRoot]);
        }

        args.InsertRange(args.IndexOf("--proc"), BwrapOptions);
        if (native is not null)
        {
            args.InsertRange(args.IndexOf("--proc"), ["--ro-bind", native, "/opt/guestops-tools-native"]);
            args.Add("/opt/guestops-tools-native");
        }
        else
        {
            // A build (not publish) output resolves package assemblies from the NuGet cache: make it visible.
            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                           ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            args.InsertRange(args.IndexOf("--proc"), ["--ro-bind", packages, "/opt/nuget-packages"]);
            args.AddRange([Path.Combine(dotnetRoot, "dotnet"), "exec", "--additionalprobingpath", "/opt/nuget-packages", "/opt/guestops-tools/guestops-tools.dll"]);
        }

        args.AddRange(["--connect", "unix:/run/guestops/channel.sock", "--pam-service", PamService, "--log-level", "debug", "--reconnect-max", "300"]);
        args.AddRange(extraArgs);
        var psi = new ProcessStartInfo("/usr/bin/bwrap")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        _worker = new Process { StartInfo = psi };
        _worker.ErrorDataReceived += (_, e) => Append(e.Data);
        _worker.OutputDataReceived += (_, e) => Append(e.Data);
        _worker.Start();
        _worker.BeginErrorReadLine();
        _worker.BeginOutputReadLine();
    }

    /// <summary>Completes when the worker process (bwrap) exits.</summary>
    public Task WorkerExited => _worker?.WaitForExitAsync() ?? Task.CompletedTask;

    public void KillWorker()
    {
        if (_worker is { HasExited: false })
        {
            _worker.Kill(entireProcessTree: true);
            _worker.WaitForExit(5000);
        }
    }

    public async ValueTask DisposeAsync()
    {
        KillWorker();
        _worker?.Dispose();
        await Task.Yield();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static async Task<string> HashAsync(string password)
    {
        var psi = new ProcessStartInfo("/usr/bin/mkpasswd", ["-m", "sha-512", "--stdin"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(password);
        p.StandardInput.Close();
        var hash = (await p.StandardOutput.ReadToEndAsync()).Trim();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0 || !hash.StartsWith("$6$", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("mkpasswd failed");
        }

        return hash;
    }

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(file, args);
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed");
        }
    }
}
