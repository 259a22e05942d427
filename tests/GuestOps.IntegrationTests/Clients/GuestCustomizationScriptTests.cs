using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests.Clients;

/// <summary>
/// The seed's guest-customization flow as one shell script driving the CLI (Clients/scripts/guest-customization.sh):
/// upload a script and an input file, run it, download its log, compare, clean up.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestCustomizationScriptTests
{
    private static GuestServer? _server;

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
    [Timeout(120_000)]
    public async Task UploadScriptAndInput_RunIt_DownloadItsLog_Compare_CleanUp()
    {
        var server = _server ?? throw new AssertFailedException("The guest server did not start.");
        using var cli = new GuestOpsCli(server.Server, "demo-vm-1", $"demo:{GuestServer.GuestPassword}");
        var environment = new Dictionary<string, string>(cli.Environment)
        {
            ["GUESTOPS"] = $"{ClientTools.Dotnet} {ClientTools.CliDll}",
            ["EXPECTED_HOST"] = "demo-vm-1",
            ["EXPECTED_USER"] = "demo",
        };
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "scripts", "guest-customization.sh");
        var run = await ProcessRunner.RunAsync("/bin/bash", [script], TimeSpan.FromSeconds(100), cli.Home, environment);
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        StringAssert.EndsWith(run.StandardOutput, "customization flow: ok\n", run.ToString());
    }
}
