using System.ComponentModel;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests.Clients;

/// <summary>
/// The callers under test, each run as its own process: the guestops CLI (tools/GuestOps.Cli), the C# samples
/// (samples/csharp) built in the same configuration as the tests, and the Java samples (samples/java/build.sh:
/// wsimport + javac, once per test run).
/// </summary>
public static class ClientTools
{
    private static readonly Lazy<Task<string>> JavaClasses = new(BuildJavaAsync);

    public static string CliDll => Built(Path.Combine(RepositoryLayout.RepositoryRoot, "tools", "GuestOps.Cli", "bin", RepositoryLayout.Configuration, RepositoryLayout.TargetFrameworkFolder, "guestops.dll"));

    public static string SamplesDll => Built(Path.Combine(RepositoryLayout.RepositoryRoot, "samples", "csharp", "GuestOps.Samples", "bin", RepositoryLayout.Configuration, RepositoryLayout.TargetFrameworkFolder, "GuestOps.Samples.dll"));

    public static string Dotnet => Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";

    /// <summary>The Java samples' class folder, built on first use. Missing Java is a failure with the packages to install.</summary>
    public static Task<string> JavaClassesAsync() => JavaClasses.Value;

    public static string JavaClassPath(string classes) => $"{classes}:/usr/share/java/jaxws-rt.jar";

    private static string Built(string path) => File.Exists(path)
        ? path
        : throw new InvalidOperationException($"{path} is missing. Run `dotnet build GuestOps.sln -c {RepositoryLayout.Configuration}` first.");

    private static async Task<string> BuildJavaAsync()
    {
        const string Install = "Install Debian's openjdk-17-jdk-headless, jaxws and libjaxws-java (apt-get install openjdk-17-jdk-headless jaxws libjaxws-java); .ci/run does.";
        var output = Path.Combine(Path.GetTempPath(), $"guestops-java-samples-{Environment.ProcessId}");
        ProcessResult build;
        try
        {
            build = await ProcessRunner.RunAsync("/bin/bash", [Path.Combine(RepositoryLayout.RepositoryRoot, "samples", "java", "build.sh"), output], TimeSpan.FromMinutes(4));
        }
        catch (Win32Exception e)
        {
            throw new AssertFailedException($"Cannot run /bin/bash: {e.Message}");
        }

        if (build.ExitCode == 3)
        {
            throw new AssertFailedException($"The Java samples cannot be built here. {Install}{Environment.NewLine}{build}");
        }

        Assert.AreEqual(0, build.ExitCode, $"samples/java/build.sh failed.{Environment.NewLine}{build}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(output, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return Path.Combine(output, "classes");
    }
}
