using System.Reflection;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>Where things are: the repository root (the folder holding GuestOps.sln), the server built in the same
/// configuration as this test assembly, and the test fixtures (tests/fixtures) of the repository.</summary>
public static class RepositoryLayout
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string RepositoryRoot => Root.Value;

    /// <summary>Debug or Release: the configuration this test assembly was built in.</summary>
    public static string Configuration { get; } =
        typeof(RepositoryLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } c ? c : "Debug";

    /// <summary>The target framework folder of this test assembly (net10.0), used for the server too.</summary>
    public static string TargetFrameworkFolder { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;

    public static string ServerDll
    {
        get
        {
            var path = Path.Combine(RepositoryRoot, "src", "GuestOps.Server", "bin", Configuration, TargetFrameworkFolder, "GuestOps.Server.dll");
            if (!File.Exists(path))
            {
                throw new InvalidOperationException(
                    $"The server is not built for {Configuration}: {path} is missing. Run `dotnet build GuestOps.sln -c {Configuration}` first.");
            }

            return path;
        }
    }

    /// <summary>The reliability programs (bench/GuestOps.Reliability) of the same configuration.</summary>
    public static string ReliabilityDll
    {
        get
        {
            var path = Path.Combine(RepositoryRoot, "bench", "GuestOps.Reliability", "bin", Configuration, TargetFrameworkFolder, "GuestOps.Reliability.dll");
            return File.Exists(path) ? path : throw new InvalidOperationException(
                $"The reliability programs are not built for {Configuration}: {path} is missing. Run `dotnet build GuestOps.sln -c {Configuration}` first.");
        }
    }

    /// <summary>The recorded wire captures of real clients (tests/fixtures/wire-captures, see tests/fixtures/README.md).</summary>
    public static string WireCapturesDirectory => Path.Combine(RepositoryRoot, "tests", "fixtures", "wire-captures");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GuestOps.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"GuestOps.sln not found in {AppContext.BaseDirectory} or any parent folder.");
    }
}
