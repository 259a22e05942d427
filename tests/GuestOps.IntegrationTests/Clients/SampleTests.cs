using System.Security.Cryptography;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests.Clients;

/// <summary>
/// The four samples (CreateTemporaryFile, UploadGuestFile, DownloadGuestFile, RunProgram) in Java (JAX-WS stubs
/// from wsdl/, built by samples/java/build.sh) and C# (WCF), each run as a process against the real server, their
/// results checked. Missing Java fails the Java test with the packages to install (CI installs them).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SampleTests
{
    private static GuestServer? _server;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context) => _server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"]);

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    [TestMethod]
    [Timeout(240_000)]
    public async Task JavaSamples_CreateUploadDownloadRun()
    {
        var classes = await ClientTools.JavaClassesAsync();
        await RunAllFourAsync("java", name => ["java", "-cp", ClientTools.JavaClassPath(classes), $"guestops.samples.{name}"]);
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task CSharpSamples_CreateUploadDownloadRun() =>
        await RunAllFourAsync("csharp", name => [ClientTools.Dotnet, ClientTools.SamplesDll, name]);

    private async Task RunAllFourAsync(string language, Func<string, string[]> command)
    {
        var server = _server ?? throw new AssertFailedException("The guest server did not start.");
        var local = Directory.CreateTempSubdirectory($"guestops-{language}-samples-").FullName;
        try
        {
            string[] common = ["--url", server.Server.SdkUri.ToString(), "--username", "root", "--password", server.Server.RootPassword!,
                "--vmname", "demo-vm-1", "--guestusername", "demo", "--guestpassword", GuestServer.GuestPassword, "--insecure"];
            async Task<ProcessResult> Sample(string name, params string[] options)
            {
                var line = command(name);
                var result = await ProcessRunner.RunAsync(line[0], [.. line[1..], .. common, .. options], TimeSpan.FromSeconds(60), local);
                TestContext.WriteLine($"{language} {name}: exit {result.ExitCode} in {result.Elapsed.TotalSeconds:0.0} s: {result.StandardOutput.Trim()}");
                return result;
            }

            var created = await Sample("CreateTemporaryFile", "--prefix", $"{language}-", "--suffix", ".txt");
            Assert.AreEqual(0, created.ExitCode, created.ToString());
            var guestPath = created.StandardOutput.Split("Temporary file created: ")[1].Trim();
            StringAssert.StartsWith(guestPath, "/tmp/vmware-demo/" + language + "-");

            var input = Path.Combine(local, "input.bin");
            var bytes = new byte[3 << 20];
            new Random(language.Length).NextBytes(bytes);
            await File.WriteAllBytesAsync(input, bytes);
            var refused = await Sample("UploadGuestFile", "--localfilepath", input, "--guestfilepath", guestPath);
            Assert.AreEqual(1, refused.ExitCode, $"the temporary file exists: without --overwrite the upload is refused{Environment.NewLine}{refused}");
            StringAssert.Contains(refused.StandardError, "FileAlreadyExists");
            var uploaded = await Sample("UploadGuestFile", "--localfilepath", input, "--guestfilepath", guestPath, "--overwrite");
            Assert.AreEqual(0, uploaded.ExitCode, uploaded.ToString());

            var output = Path.Combine(local, "output.bin");
            var downloaded = await Sample("DownloadGuestFile", "--guestfilepath", guestPath, "--localfilepath", output);
            Assert.AreEqual(0, downloaded.ExitCode, downloaded.ToString());
            CollectionAssert.AreEqual(SHA256.HashData(bytes), SHA256.HashData(await File.ReadAllBytesAsync(output)), "the downloaded file is the uploaded one");

            var log = Path.Combine(local, "run.log");
            var run = await Sample("RunProgram", "--guestprogrampath", "/bin/sh", "--arguments", $"-c 'wc -c < {guestPath}; id -un; echo oops >&2; exit 5'", "--localoutputfilepath", log);
            Assert.AreEqual(5, run.ExitCode, run.ToString());
            StringAssert.Contains(run.StandardOutput, "Exit code: 5");
            Assert.AreEqual($"{bytes.Length}\ndemo\noops\n", await File.ReadAllTextAsync(log));

            var wrongLogin = await Sample("CreateTemporaryFile", "--guestpassword", "wrong");
            Assert.AreEqual(1, wrongLogin.ExitCode, wrongLogin.ToString());
            StringAssert.Contains(wrongLogin.StandardError, "InvalidGuestLogin");
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }
}
