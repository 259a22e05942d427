using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests.Clients;

/// <summary>
/// Runs <c>dotnet guestops.dll</c> as a user would, against one server: GOVC_URL (root, with the password in
/// GOVC_PASSWORD), GOVC_INSECURE, GOVC_VM and GOVC_GUEST_LOGIN set as a govc user would, HOME and the session cache in
/// a private folder. Extra variables override these; an empty value unsets one.
/// </summary>
public sealed class GuestOpsCli : IDisposable
{
    public GuestOpsCli(ServerProcess server, string vm, string guestLogin)
    {
        Home = Directory.CreateTempSubdirectory("guestops-cli-home-").FullName;
        Environment = new Dictionary<string, string>
        {
            ["HOME"] = Home,
            ["GUESTOPS_SESSION_DIR"] = Path.Combine(Home, ".guestops", "sessions"),
            ["GOVC_URL"] = $"https://root@127.0.0.1:{server.Port}/sdk",
            ["GOVC_PASSWORD"] = server.RootPassword!,
            ["GOVC_USERNAME"] = "",
            ["GOVC_INSECURE"] = "1",
            ["GOVC_VM"] = vm,
            ["GOVC_GUEST_LOGIN"] = guestLogin,
            ["GOVC_PERSIST_SESSION"] = "",
            ["NO_COLOR"] = "1",
        };
    }

    public string Home { get; }

    public Dictionary<string, string> Environment { get; }

    public string SessionDirectory => Environment["GUESTOPS_SESSION_DIR"];

    public Task<ProcessResult> RunAsync(params string[] arguments) => RunAsync(arguments, null);

    public Task<ProcessResult> RunAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan? timeout = null)
    {
        var variables = new Dictionary<string, string>(Environment);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            variables[name] = value;
        }

        return ProcessRunner.RunAsync(ClientTools.Dotnet, [ClientTools.CliDll, .. arguments], timeout ?? TimeSpan.FromSeconds(60), Home, variables);
    }

    /// <summary>Runs and asserts exit code 0; returns standard output.</summary>
    public async Task<string> OkAsync(params string[] arguments)
    {
        var result = await RunAsync(arguments);
        Assert.AreEqual(0, result.ExitCode, $"guestops {string.Join(' ', arguments)}{System.Environment.NewLine}{result}");
        return result.StandardOutput;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
