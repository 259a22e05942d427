namespace GuestOps.Benchmarks;

/// <summary>The guestops-tools binary the worker and chain suites run.</summary>
internal static class WorkerBinary
{
    /// <summary>Where the server's build publishes the NativeAOT worker (GuestOps.Server.csproj, PublishGuestWorker).</summary>
    public const string PublishedByServerBuild = "src/GuestOps.Server/bin/Release/net10.0/guestops-tools";

    /// <summary>The explicit path, or the server build's worker found from this program's directory upwards.</summary>
    public static string? Resolve(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, PublishedByServerBuild);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>One line on what the binary is: size, build time, and whether it looks like a NativeAOT single file
    /// (an ELF executable of several MiB with no managed guestops-tools.dll beside it; an apphost is ~70 KiB plus the dll).</summary>
    public static string Describe(string path)
    {
        var info = new FileInfo(path);
        Span<byte> magic = stackalloc byte[4];
        using (var stream = info.OpenRead())
        {
            stream.ReadExactly(magic);
        }

        var elf = magic.SequenceEqual("\u007fELF"u8);
        var managedBeside = File.Exists(Path.ChangeExtension(path, ".dll"));
        var aot = elf && !managedBeside && info.Length > 2 * 1024 * 1024;
        return $"{path} ({info.Length / 1024.0 / 1024.0:F1} MiB, built {info.LastWriteTime:yyyy-MM-dd HH:mm}; "
            + (aot ? "NativeAOT single-file ELF, no runtime or managed dll beside it)" : $"NOT a NativeAOT single file: ELF={elf}, managed dll beside it={managedBeside})");
    }

    public static string NotFoundMessage(string? explicitPath) => explicitPath is not null
        ? $"The worker {explicitPath} does not exist."
        : $"No guestops-tools found ({PublishedByServerBuild} from the repository root). Build it with "
            + "`dotnet build bench/GuestOps.Benchmarks -c Release` (the server's build publishes it), or "
            + "`dotnet publish src/GuestOps.Tools -c Release -r linux-x64 -o DIR` and pass --worker-path DIR/guestops-tools.";

    /// <summary>What every suite with sandboxed VMs needs: the worker binary and bubblewrap. Null (after printing why)
    /// when one is missing.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static string? ResolveForSandboxes(string? explicitPath, string suite)
    {
        var worker = Resolve(explicitPath);
        if (worker is null)
        {
            Console.WriteLine(NotFoundMessage(explicitPath));
            return null;
        }

        if (!GuestOps.Host.Providers.SandboxVmProvider.IsAvailable())
        {
            Console.WriteLine($"The {suite} suite needs the sandbox provider: /usr/bin/bwrap (Debian package bubblewrap) is not installed.");
            return null;
        }

        return worker;
    }
}
