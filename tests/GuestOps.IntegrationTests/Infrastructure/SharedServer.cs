namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// One server for the test classes that do not depend on server state (each of their tests logs in on its own): the
/// default configuration (demo-vm-1, demo-vm-2 from appsettings.json) plus a third VM, so paging has something to page.
/// Started on first use, stopped at the end of the run.
/// </summary>
[TestClass]
public static class SharedServer
{
    public static readonly string[] VirtualMachineNames = ["demo-vm-1", "demo-vm-2", "demo-vm-3"];

    private static readonly Lock Gate = new();
    private static Task<ServerProcess>? _server;

    public static Task<ServerProcess> GetAsync()
    {
        lock (Gate)
        {
            return _server ??= ServerProcess.StartAsync(new ServerOptions { VirtualMachineNames = VirtualMachineNames });
        }
    }

    [AssemblyCleanup]
    public static async Task StopAsync()
    {
        Task<ServerProcess>? server;
        lock (Gate)
        {
            server = _server;
            _server = null;
        }

        if (server is null)
        {
            return;
        }

        try
        {
            // A test may have timed out while the server was still starting: wait for it, then stop it.
            await (await server.WaitAsync(TimeSpan.FromSeconds(45))).DisposeAsync();
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // it never started (its failure was reported by the tests that needed it)
        }
    }
}
