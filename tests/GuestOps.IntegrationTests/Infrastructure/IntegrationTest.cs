namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// Base of the integration test classes: clients made with <see cref="NewClient"/> record every answer, and each test
/// ends by validating every SOAP envelope it received against the schemas (our wsdl/ and, when here, VMware's 5.x).
/// </summary>
public abstract class IntegrationTest
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>The answers this test received.</summary>
    protected ResponseLog Responses { get; } = new();

    protected SoapClient NewClient(ServerProcess server, TimeSpan? timeout = null) => new(server, Responses, timeout);

    /// <summary>The typed client (see <see cref="TypedGuestClient.ConnectAsync"/>), logged in as root unless told
    /// otherwise; its answers are validated like those of <see cref="NewClient"/>.</summary>
    protected Task<TypedGuestClient> ConnectAsync(ServerProcess server, string vmId = "vm-1", bool login = true, string? sessionCookie = null, TimeSpan? timeout = null) =>
        TypedGuestClient.ConnectAsync(server, vmId, Responses, login, sessionCookie, timeout);

    /// <summary>Runs a pyVmomi script of python/ (see <see cref="PyVmomiRun.StartAsync"/>).</summary>
    protected Task<PyVmomiRun> RunPyVmomiAsync(string script, IEnumerable<string> arguments, TimeSpan timeout) =>
        PyVmomiRun.StartAsync(script, arguments, timeout, Responses, TestContext);

    [TestCleanup]
    public void ValidateReceivedResponses()
    {
        var count = Responses.AssertAllValid();
        TestContext.WriteLine($"{count} SOAP response(s) validated against the schemas.");
    }

    /// <summary>The server still answers after whatever the test sent it, and logged no internal error.</summary>
    protected async Task AssertStillServingAsync(ServerProcess server)
    {
        Assert.IsFalse(server.HasExited, $"The server exited.{Environment.NewLine}{server.AllOutput}");
        using var client = NewClient(server, TimeSpan.FromSeconds(10));
        var response = await client.CallAsync("RetrieveServiceContent", Moref.ServiceInstance);
        response.AssertOk("RetrieveServiceContent");
        var errors = server.InternalErrorLines();
        Assert.AreEqual(0, errors.Count, $"The server logged internal errors:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}{Environment.NewLine}{server.AllOutput}");
    }
}
