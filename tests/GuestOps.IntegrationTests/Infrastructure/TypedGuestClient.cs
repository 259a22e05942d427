using GuestOps.Client;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// The typed client (GuestOps.Client) of a test server, logged in as root, with the guest operations managers and one
/// VM at hand: what a test that makes ordinary vim25 calls uses instead of hand-built SOAP.
/// </summary>
public sealed class TypedGuestClient : IAsyncDisposable
{
    private TypedGuestClient(VimConnection connection, GuestManagers managers, ManagedObjectReference vm)
    {
        Connection = connection;
        Managers = managers;
        Vm = vm;
    }

    public VimConnection Connection { get; }

    public IVimPort Port => Connection.Port;

    public GuestManagers Managers { get; }

    public ManagedObjectReference Vm { get; }

    /// <summary>Connects to <paramref name="server"/> (its self-signed certificate accepted) and logs in as root.</summary>
    public static async Task<TypedGuestClient> ConnectAsync(ServerProcess server, string vmId = "vm-1")
    {
        var connection = await VimConnection.ConnectAsync(server.SdkUri, new VimConnectionOptions { AcceptAnyServerCertificate = true });
        try
        {
            await connection.LoginAsync("root", server.RootPassword ?? throw new InvalidOperationException("The server's root password is not known to the test."));
            return new TypedGuestClient(connection, await connection.GuestManagersAsync(), new ManagedObjectReference("VirtualMachine", vmId));
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A guest account's name and password, as the guest methods take them.</summary>
    public static NamePasswordAuthentication Auth(string user, string password) => new() { username = user, password = password, interactiveSession = false };

    /// <summary>Asserts that <paramref name="call"/> fails with a vim fault of type <typeparamref name="TFault"/>.</summary>
    public static async Task<TFault> AssertFaultAsync<TFault>(Func<Task> call)
        where TFault : MethodFault
    {
        var e = await Assert.ThrowsAsync<VimFaultException>(() => VimFaults.Translate(call));
        return e.Fault as TFault ?? throw new AssertFailedException($"Expected the fault {typeof(TFault).Name}, got {e.Fault.GetType().Name}: {e.Message}");
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
