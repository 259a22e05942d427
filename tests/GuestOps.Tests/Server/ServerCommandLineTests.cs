using GuestOps.Server.Hosting;
using Microsoft.Extensions.Configuration;

namespace GuestOps.Tests.Server;

/// <summary>The server executable's command line (one System.CommandLine parser): --help and --version print and exit
/// without running the server, unknown arguments are refused with the usage (exit 2), and every settings switch reaches
/// the server in the form configuration reads.</summary>
[TestClass]
public sealed class ServerCommandLineTests
{
    [TestMethod]
    [DataRow("--help")]
    [DataRow("-h")]
    [DataRow("--version")]
    public void HelpAndVersion_PrintAndExit_WithoutRunningTheServer(string option)
    {
        var (code, stdout, stderr, ran) = Run(option);
        Assert.AreEqual(0, code, stderr);
        Assert.IsNull(ran, "the server must not run");
        if (option == "--version")
        {
            StringAssert.Matches(stdout.Trim(), new System.Text.RegularExpressions.Regex(@"^\d+\.\d+\.\d+"));
        }
        else
        {
            foreach (var text in new[] { "Usage:", "--urls", "--state-dir", "--version", "enroll", "revoke", "user", "group", "role", "permission", "--GuestOps:Name=value" })
            {
                StringAssert.Contains(stdout, text);
            }
        }
    }

    [TestMethod]
    [DataRow("--bogus")]
    [DataRow("bogus")]
    [DataRow("--urls")]
    [DataRow("--GuestOps:SessionIdleTimeout")]
    [DataRow("user", "frobnicate")]
    [DataRow("permission", "set", "--principal", "x", "--role", "Admin", "--entity", "root", "--extra")]
    public void UnknownOrIncompleteArguments_AreRefusedWithTheUsage_Exit2(params string[] args)
    {
        var (code, stdout, stderr, ran) = Run(args);
        Assert.AreEqual(2, code, stderr);
        Assert.IsNull(ran, "the server must not run");
        StringAssert.StartsWith(stderr, "GuestOps.Server: ");
        StringAssert.Contains(stderr, "Usage:", "the usage follows the refusal");
        Assert.AreEqual("", stdout);
    }

    [TestMethod]
    public void SettingsSwitches_ReachTheServerAsConfigurationKeys()
    {
        var (code, _, stderr, ran) = Run(
            "--urls", "https://127.0.0.1:8443", "--state-dir=/srv/guestops", "--GuestOps:SessionIdleTimeout=00:00:02",
            "--Logging:LogLevel:Default", "Debug", "--GuestOps:VirtualMachines:0:Name=a=b");
        Assert.AreEqual(0, code, stderr);
        Assert.IsNotNull(ran, "no command: the server runs");
        var configuration = new ConfigurationBuilder().AddCommandLine(ran, GuestOpsOptions.CommandLineSwitches).Build();
        Assert.AreEqual("https://127.0.0.1:8443", configuration["GuestOps:Urls"]);
        Assert.AreEqual("/srv/guestops", configuration["GuestOps:StateDirectory"]);
        Assert.AreEqual("00:00:02", configuration["GuestOps:SessionIdleTimeout"]);
        Assert.AreEqual("Debug", configuration["Logging:LogLevel:Default"]);
        Assert.AreEqual("a=b", configuration["GuestOps:VirtualMachines:0:Name"]);
    }

    private static (int Code, string Stdout, string Stderr, string[]? ServerSettings) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        string[]? ran = null;
        var code = new ServerCommandLine(TextReader.Null, stdout, stderr, (settings, _) =>
        {
            ran = settings;
            return Task.FromResult(0);
        }).InvokeAsync(args).GetAwaiter().GetResult();
        return (code, stdout.ToString(), stderr.ToString(), ran);
    }
}
