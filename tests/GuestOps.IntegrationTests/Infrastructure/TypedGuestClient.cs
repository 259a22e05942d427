using System.Diagnostics;
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

    /// <summary>
    /// Connects to <paramref name="server"/> (its self-signed certificate accepted) and logs in as root, or, without
    /// <paramref name="login"/>, stays anonymous (or on the session of <paramref name="sessionCookie"/>) with the guest
    /// managers' well-known references.
    /// </summary>
    /// <param name="responses">Where every SOAP answer goes, to be validated against the schemas (IntegrationTest's log).</param>
    /// <param name="timeout">The limit of one call (default: <see cref="VimConnectionOptions.Timeout"/>).</param>
    public static async Task<TypedGuestClient> ConnectAsync(ServerProcess server, string vmId = "vm-1", ResponseLog? responses = null, bool login = true, string? sessionCookie = null, TimeSpan? timeout = null)
    {
        var connection = await VimConnection.ConnectAsync(server.SdkUri, new VimConnectionOptions
        {
            AcceptAnyServerCertificate = true,
            EndpointBehaviors = responses is null ? [] : [new ResponseRecording(responses)],
            SessionCookie = sessionCookie,
            Timeout = timeout ?? new VimConnectionOptions().Timeout,
        });
        try
        {
            if (!login)
            {
                return new TypedGuestClient(connection, WellKnownManagers, VmRef(vmId));
            }

            await connection.LoginAsync("root", server.RootPassword ?? throw new InvalidOperationException("The server's root password is not known to the test."));
            return new TypedGuestClient(connection, await connection.GuestManagersAsync(), VmRef(vmId));
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The guest managers as vSphere names them (what a client without a session cannot read).</summary>
    private static readonly GuestManagers WellKnownManagers = new(
        new ManagedObjectReference("GuestAuthManager", "guestOperationsAuthManager"),
        new ManagedObjectReference("GuestFileManager", "guestOperationsFileManager"),
        new ManagedObjectReference("GuestProcessManager", "guestOperationsProcessManager"));

    public static ManagedObjectReference VmRef(string vmId) => new("VirtualMachine", vmId);

    /// <summary>A guest account's name and password, as the guest methods take them.</summary>
    public static NamePasswordAuthentication Auth(string user, string password) => new() { username = user, password = password, interactiveSession = false };

    /// <summary>The VM's guest.guestOperationsReady.</summary>
    public async Task<bool> IsReadyAsync(string vmId) =>
        (await Connection.PropertiesAsync(VmRef(vmId), ["guest.guestOperationsReady"])).GetValueOrDefault("guest.guestOperationsReady") is true;

    /// <summary>Polls guest.guestOperationsReady every <paramref name="interval"/> until it is <paramref name="ready"/>;
    /// returns how long that took, or fails after <paramref name="timeout"/>.</summary>
    public async Task<TimeSpan> WaitForReadinessAsync(string vmId, bool ready, TimeSpan timeout, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await IsReadyAsync(vmId) == ready)
            {
                return clock.Elapsed;
            }

            if (clock.Elapsed > timeout)
            {
                throw new AssertFailedException($"{vmId}: guest.guestOperationsReady did not become {ready.ToString().ToLowerInvariant()} within {timeout.TotalSeconds:0.#} s.");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>Asserts that <paramref name="call"/> fails with a vim fault of type <typeparamref name="TFault"/>.</summary>
    public static async Task<TFault> AssertFaultAsync<TFault>(Func<Task> call)
        where TFault : MethodFault
    {
        var e = await Assert.ThrowsAsync<VimFaultException>(() => VimFaults.Translate(call));
        return e.Fault as TFault ?? throw new AssertFailedException($"Expected the fault {typeof(TFault).Name}, got {e.Fault.GetType().Name}: {e.Message}");
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
