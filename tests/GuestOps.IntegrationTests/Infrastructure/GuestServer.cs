using System.Diagnostics;
using System.Globalization;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>One GuestFileInfo of a ListFilesInGuest answer.</summary>
public sealed record GuestFileEntry(string Path, string Type, long Size, GuestFileAttributes Attributes)
{
    public static GuestFileEntry From(GuestFileInfo file) => new(file.path, file.type, file.size, file.attributes);

    /// <summary>The type of <c>attributes</c> (its xsi:type), e.g. GuestPosixFileAttributes.</summary>
    public string AttributesType => Attributes.GetType().Name;

    private GuestPosixFileAttributes? Posix => Attributes as GuestPosixFileAttributes;

    public DateTime? ModificationTime => Attributes.modificationTime?.ToUniversalTime();

    public DateTime? AccessTime => Attributes.accessTime?.ToUniversalTime();

    public long? OwnerId => Posix?.ownerId;

    public long? GroupId => Posix?.groupId;

    public long? Permissions => Posix?.permissions;

    public string? SymlinkTarget => Attributes.symlinkTarget;

    public override string ToString() => $"{Path} ({Type}, {Size} B, owner {OwnerId}:{GroupId}, mode {Convert.ToString(Permissions ?? 0, 8)}{(SymlinkTarget is null ? "" : " -> " + SymlinkTarget)})";
}

/// <summary>A GuestListFileInfo.</summary>
public sealed record GuestListing(IReadOnlyList<GuestFileEntry> Files, int Remaining)
{
    public static GuestListing From(GuestListFileInfo info) => new((info.files ?? []).Select(GuestFileEntry.From).ToList(), info.remaining);

    public IReadOnlyList<string> Names => Files.Select(f => f.Path).ToList();
}

/// <summary>
/// Guest-operation requests built by hand, as pyVmomi and govmomi send them, for the tests whose subject is the wire or the
/// authorization of a raw call (every other guest call goes through <see cref="TypedGuestClient"/>), and the readiness
/// poll of a server's start, which a hand-built Login makes cheaper to begin than a new typed connection (1-2 s).
/// </summary>
public static class GuestSoap
{
    public static readonly Moref AuthManager = new("GuestAuthManager", "guestOperationsAuthManager");
    public static readonly Moref FileManager = new("GuestFileManager", "guestOperationsFileManager");
    public static readonly Moref ProcessManager = new("GuestProcessManager", "guestOperationsProcessManager");

    /// <summary>A NamePasswordAuthentication <c>auth</c> element (govmomi's shape).</summary>
    public static string Auth(string user, string password) =>
        "<auth xsi:type=\"NamePasswordAuthentication\"><interactiveSession>false</interactiveSession>"
        + Soap.Element("username", user) + Soap.Element("password", password) + "</auth>";

    public static Task<SoapResponse> ValidateCredentialsAsync(SoapClient client, string vmId, string user, string password) =>
        client.PostAsync(
            Soap.Call("ValidateCredentialsInGuest", AuthManager, Moref.Vm(vmId).Xml("vm") + Auth(user, password)),
            $"ValidateCredentialsInGuest on {vmId} as {user}");

    public static Task<SoapResponse> ListFilesAsync(SoapClient client, string vmId, string user, string password, string path) =>
        client.PostAsync(
            Soap.Call("ListFilesInGuest", FileManager, Moref.Vm(vmId).Xml("vm") + Auth(user, password) + Soap.Element("filePath", path)),
            $"ListFilesInGuest on {vmId} as {user}: {path}");

    /// <summary>Reads some properties of a VM (RetrieveProperties); missing ones are absent from the result.</summary>
    public static async Task<Dictionary<string, string>> VmPropertiesAsync(SoapClient client, string vmId, params string[] paths)
    {
        var response = await client.PostAsync(Soap.RetrieveProperties(Moref.Vm(vmId), paths), $"RetrieveProperties {vmId} {string.Join(",", paths)}");
        return response.ReturnValues("RetrieveProperties").Single().Elements(Soap.Vim + "propSet")
            .ToDictionary(p => (string)p.Element(Soap.Vim + "name")!, p => p.Element(Soap.Vim + "val")!.Value);
    }

    public static async Task<bool> IsReadyAsync(SoapClient client, string vmId) =>
        (await VmPropertiesAsync(client, vmId, "guest.guestOperationsReady")).GetValueOrDefault("guest.guestOperationsReady") == "true";

    /// <summary>Polls guest.guestOperationsReady every <paramref name="interval"/> until it is <paramref name="ready"/>;
    /// returns how long that took, or fails after <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan> WaitForReadinessAsync(SoapClient client, string vmId, bool ready, TimeSpan timeout, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await IsReadyAsync(client, vmId) == ready)
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
}

/// <summary>
/// A real server whose VMs run the sandbox provider, for the guest-operation tests: a state directory the sandboxes can
/// reach (mode 0755: the sandbox runs as an unprivileged host uid, which cannot traverse the 0700 directory
/// <see cref="ServerProcess"/> creates by default), a known guest password for the default accounts
/// (GUESTOPS_DEMO_GUEST_PASSWORD), and a start that returns only once every VM's guest.guestOperationsReady is true.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestServer : IAsyncDisposable
{
    /// <summary>The password of the default guest accounts root and demo.</summary>
    public const string GuestPassword = "Guest-Demo-Pa55!";

    private GuestServer(ServerProcess server, IReadOnlyList<string> vmNames)
    {
        Server = server;
        VmNames = vmNames;
    }

    public ServerProcess Server { get; }

    public string StateDirectory => Server.StateDirectory;

    /// <summary>VM names by index: VM i is <c>vm-(i+1)</c>.</summary>
    public IReadOnlyList<string> VmNames { get; }

    public static string VmId(int index) => $"vm-{index + 1}";

    public string VmName(string vmId) => VmNames[int.Parse(vmId["vm-".Length..], CultureInfo.InvariantCulture) - 1];

    /// <param name="vmNames">The VMs (bound by index over appsettings.json's demo-vm-1 and demo-vm-2).</param>
    /// <param name="arguments">Extra command-line arguments (e.g. guest accounts, GuestCallTimeout).</param>
    /// <param name="readyVmIds">The VMs to wait for (default: all).</param>
    /// <param name="startTimeout">How long the server may take to print its endpoint (default: <see cref="ServerOptions.StartTimeout"/>).</param>
    /// <param name="environment">Extra environment variables (e.g. GUESTOPS_PROVIDER).</param>
    public static async Task<GuestServer> StartAsync(IReadOnlyList<string>? vmNames = null, IReadOnlyList<string>? arguments = null, IReadOnlyList<string>? readyVmIds = null, TimeSpan? readyTimeout = null, TimeSpan? startTimeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        vmNames ??= ["demo-vm-1", "demo-vm-2"];
        var state = Directory.CreateTempSubdirectory("guestops-it-guest-").FullName;
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        ServerProcess server;
        try
        {
            server = await ServerProcess.StartAsync(new ServerOptions
            {
                StateDirectory = state,
                VirtualMachineNames = vmNames,
                Arguments = arguments ?? [],
                Environment = new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["GUESTOPS_DEMO_GUEST_PASSWORD"] = GuestPassword },
                StartTimeout = startTimeout ?? new ServerOptions().StartTimeout,
            });
        }
        catch
        {
            DeleteState(state);
            throw;
        }

        var guest = new GuestServer(server, vmNames);
        try
        {
            using var client = new SoapClient(server, new ResponseLog());
            await client.LoginOkAsync();
            var timeout = readyTimeout ?? TimeSpan.FromSeconds(120); // a bound on waiting, generous for a busy machine
            foreach (var vmId in readyVmIds ?? vmNames.Select((_, i) => VmId(i)).ToList())
            {
                try
                {
                    await GuestSoap.WaitForReadinessAsync(client, vmId, ready: true, timeout);
                }
                catch (AssertFailedException e)
                {
                    throw new AssertFailedException($"{e.Message}{Environment.NewLine}{server.AllOutput}");
                }
            }
        }
        catch
        {
            await guest.DisposeAsync();
            throw;
        }

        return guest;
    }

    /// <summary>The VM's current worker (waits for one, bounded).</summary>
    public Task<int> WorkerAsync(string vmId, TimeSpan? timeout = null, int? except = null) =>
        GuestWorkers.WaitForWorkerAsync(StateDirectory, VmName(vmId), timeout ?? TimeSpan.FromSeconds(10), except);

    /// <summary>Host-side access to the VM's writable guest directories, owned through its user namespace mapping.</summary>
    public async Task<GuestFiles> FilesAsync(string vmId)
    {
        var worker = await WorkerAsync(vmId);
        return new GuestFiles(Path.Combine(StateDirectory, "vms", vmId, "guest"), GuestWorkers.IdOffset(worker), GuestWorkers.IdOffset(worker, group: true));
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        DeleteState(Server.StateDirectory);
    }

    private static void DeleteState(string state)
    {
        try
        {
            Directory.Delete(state, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
