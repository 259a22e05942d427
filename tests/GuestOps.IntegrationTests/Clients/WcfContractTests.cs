using System.ServiceModel;
using System.ServiceModel.Channels;
using System.ServiceModel.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using GuestOps.Client;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.IntegrationTests.Clients;

/// <summary>
/// The vim25 service contracts of GuestOps.Vim, used by a C# caller through WCF's ChannelFactory (BasicHttpsBinding)
/// against the real server: one factory per contract (ISessionManager, IPropertyCollector, IGuestAuthManager,
/// IGuestFileManager, IGuestProcessManager) sharing the session cookie, every guest operation called, array
/// parameters and results included (specSet, envVariables, pids, names, returnval lists), which vim25 sends as
/// repeated elements without a wrapper. Then the typed client library (GuestOps.Client) over the same contracts,
/// with a /guestFile upload and download.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WcfContractTests
{
    private static readonly ManagedObjectReference Vm = new("VirtualMachine", "vm-1");
    private static readonly ManagedObjectReference ServiceInstance = new("ServiceInstance", "ServiceInstance");

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

    private static GuestServer Server => _server ?? throw new AssertFailedException("The guest server did not start.");

    private static NamePasswordAuthentication Demo => new() { username = "demo", password = GuestServer.GuestPassword, interactiveSession = false };

    [TestMethod]
    [Timeout(60_000)]
    public async Task EveryGuestOperation_ThroughChannelFactoriesOfTheContracts_ArraysIncluded()
    {
        using var sessions = Factory<ISessionManager>();
        var sessionManager = sessions.CreateChannel();
        var content = await Factory<IServiceInstance>().CreateChannel().RetrieveServiceContentAsync(ServiceInstance);
        var session = await sessionManager.LoginAsync(content.sessionManager!, "root", ServerOptions.DefaultRootPassword, null);
        Assert.AreEqual("root", session.userName);
        var cookies = sessions.GetProperty<IHttpCookieContainerManager>()!.CookieContainer;

        using var collectorFactory = Factory<IPropertyCollector>(cookies);
        using var authFactory = Factory<IGuestAuthManager>(cookies);
        using var filesFactory = Factory<IGuestFileManager>(cookies);
        using var processesFactory = Factory<IGuestProcessManager>(cookies);
        var collector = collectorFactory.CreateChannel();
        var auth = authFactory.CreateChannel();
        var files = filesFactory.CreateChannel();
        var processes = processesFactory.CreateChannel();

        // RetrievePropertiesEx: specSet is an array parameter; the guest managers come from GuestOperationsManager.
        var managers = await collector.RetrievePropertiesExAsync(
            content.propertyCollector!,
            [new PropertyFilterSpec
            {
                propSet = [new PropertySpec { type = "GuestOperationsManager", pathSet = ["authManager", "fileManager", "processManager"] }],
                objectSet = [new ObjectSpec { obj = content.guestOperationsManager! }],
            }],
            new RetrieveOptions());
        var refs = managers!.objects.Single().propSet!.ToDictionary(p => p.name, p => (ManagedObjectReference)p.val!);
        var authManager = refs["authManager"];
        var fileManager = refs["fileManager"];
        var processManager = refs["processManager"];

        await auth.ValidateCredentialsInGuestAsync(authManager, Vm, Demo);
        var acquire = await Assert.ThrowsAsync<FaultException>(() => auth.AcquireCredentialsInGuestAsync(authManager, Vm, Demo, null));
        Assert.IsInstanceOfType<InvalidArgument>(VimFaults.Detail(acquire), acquire.ToString());
        var release = await Assert.ThrowsAsync<FaultException>(() => auth.ReleaseCredentialsInGuestAsync(authManager, Vm, Demo));
        Assert.IsInstanceOfType<InvalidArgument>(VimFaults.Detail(release), release.ToString());

        var dir = await files.CreateTemporaryDirectoryInGuestAsync(fileManager, Vm, Demo, "wcf-", "", null);
        var file = await files.CreateTemporaryFileInGuestAsync(fileManager, Vm, Demo, "f-", ".txt", dir);
        await files.MakeDirectoryInGuestAsync(fileManager, Vm, Demo, dir + "/a/b", true);
        await files.MoveDirectoryInGuestAsync(fileManager, Vm, Demo, dir + "/a", dir + "/c");
        await files.MoveFileInGuestAsync(fileManager, Vm, Demo, file, dir + "/moved.txt", false);
        await files.ChangeFileAttributesInGuestAsync(fileManager, Vm, Demo, dir + "/moved.txt", new GuestPosixFileAttributes { permissions = Convert.ToInt64("600", 8) });
        var listing = await files.ListFilesInGuestAsync(fileManager, Vm, Demo, dir, null, null, null);
        CollectionAssert.AreEquivalent(new[] { ".", "..", "c", "moved.txt" }, listing.files!.Select(f => f.path).ToArray());
        Assert.AreEqual(Convert.ToInt64("600", 8), ((GuestPosixFileAttributes)listing.files!.Single(f => f.path == "moved.txt").attributes!).permissions & 0x1FF);

        var upload = await files.InitiateFileTransferToGuestAsync(fileManager, Vm, Demo, dir + "/up.bin", new GuestPosixFileAttributes(), 3, false);
        StringAssert.Contains(upload, "/guestFile?");
        var download = await files.InitiateFileTransferFromGuestAsync(fileManager, Vm, Demo, dir + "/moved.txt");
        Assert.AreEqual(0, download.size);

        // StartProgramInGuest: envVariables is a string array inside the spec; ListProcessesInGuest takes pids (long[]).
        var pid = await processes.StartProgramInGuestAsync(processManager, Vm, Demo, new GuestProgramSpec
        {
            programPath = "/bin/sh",
            arguments = $"-c 'touch \"{dir}/env_${{ONE}}_${{TWO}}\"; sleep 60'",
            envVariables = ["ONE=1", "TWO=2"],
        });
        var listed = await processes.ListProcessesInGuestAsync(processManager, Vm, Demo, [pid, 999_999_999]);
        Assert.AreEqual(pid, listed.Single().pid);
        Assert.IsGreaterThanOrEqualTo(2, (await processes.ListProcessesInGuestAsync(processManager, Vm, Demo, null)).Length, "all processes");
        await WaitForAsync(async () => (await files.ListFilesInGuestAsync(fileManager, Vm, Demo, dir, null, null, "^env_")).files?.Length == 1);
        Assert.AreEqual("env_1_2", (await files.ListFilesInGuestAsync(fileManager, Vm, Demo, dir, null, null, "^env_")).files!.Single().path);
        await processes.TerminateProcessInGuestAsync(processManager, Vm, Demo, pid);

        var env = await processes.ReadEnvironmentVariableInGuestAsync(processManager, Vm, Demo, ["HOME", "USER", "NO_SUCH_VARIABLE"]);
        CollectionAssert.AreEquivalent(new[] { "HOME=/home/demo", "USER=demo" }, env);
        Assert.IsGreaterThan(2, (await processes.ReadEnvironmentVariableInGuestAsync(processManager, Vm, Demo, null)).Length);

        await files.DeleteFileInGuestAsync(fileManager, Vm, Demo, dir + "/moved.txt");
        var missing = await Assert.ThrowsAsync<FaultException>(() => files.DeleteFileInGuestAsync(fileManager, Vm, Demo, dir + "/moved.txt"));
        Assert.IsInstanceOfType<FileNotFound>(VimFaults.Detail(missing), missing.ToString());
        await files.DeleteDirectoryInGuestAsync(fileManager, Vm, Demo, dir, true);
        await sessionManager.LogoutAsync(content.sessionManager!);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task TheClientLibrary_LogsIn_FindsTheVm_AndTransfersAFile()
    {
        await using var connection = await VimConnection.ConnectAsync(Server.Server.SdkUri, new VimConnectionOptions { AcceptAnyServerCertificate = true });
        await connection.LoginAsync("root", ServerOptions.DefaultRootPassword);
        var vm = await connection.FindVirtualMachineAsync("demo-vm-1");
        Assert.AreEqual(Vm, vm);
        var managers = await connection.GuestManagersAsync();
        IGuestFileManager files = connection.Port;

        var dir = await files.CreateTemporaryDirectoryInGuestAsync(managers.FileManager, Vm, Demo, "lib-", "", null);
        var bytes = Encoding.UTF8.GetBytes("through the client library\n");
        var upload = await files.InitiateFileTransferToGuestAsync(managers.FileManager, Vm, Demo, dir + "/up.txt", new GuestPosixFileAttributes(), bytes.Length, false);
        await connection.UploadAsync(upload, new MemoryStream(bytes), bytes.Length);
        var download = await files.InitiateFileTransferFromGuestAsync(managers.FileManager, Vm, Demo, dir + "/up.txt");
        Assert.AreEqual(bytes.Length, download.size);
        using var received = new MemoryStream();
        await connection.DownloadAsync(download.url, received);
        CollectionAssert.AreEqual(bytes, received.ToArray());

        var fault = await Assert.ThrowsAsync<VimFaultException>(() => VimFaults.Translate(() => files.DeleteFileInGuestAsync(managers.FileManager, Vm, Demo, dir + "/none")));
        Assert.IsInstanceOfType<FileNotFound>(fault.Fault);
        await files.DeleteDirectoryInGuestAsync(managers.FileManager, Vm, Demo, dir, true);
        await connection.LogoutAsync();
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task TheClientLibrary_ResumesASessionFromItsCookie_ChecksTheCertificate_AndFindsVms()
    {
        var presented = new List<string>();
        var options = new VimConnectionOptions
        {
            ServerCertificateValidation = (_, certificate, _, _) =>
            {
                lock (presented)
                {
                    presented.Add(Convert.ToHexString(SHA256.HashData(certificate!.GetRawCertData())));
                }

                return true;
            },
        };
        string cookie;
        await using (var first = await VimConnection.ConnectAsync(Server.Server.SdkUri, options))
        {
            Assert.IsNull(first.SessionCookie, "no session before the login");
            Assert.IsNull(await first.CurrentSessionAsync());
            await first.LoginAsync("root", ServerOptions.DefaultRootPassword);
            cookie = first.SessionCookie!;
            StringAssert.StartsWith(cookie, VimConnection.SessionCookieName + "=");
            Assert.AreEqual("root", (await first.CurrentSessionAsync())!.userName);
        }

        Assert.IsNotEmpty(presented, "the callback decided on the server's certificate");
        await using (var resumed = await VimConnection.ConnectAsync(Server.Server.SdkUri, options with { SessionCookie = cookie }))
        {
            var session = await resumed.CurrentSessionAsync();
            Assert.IsNotNull(session, "the cookie resumes the session");
            Assert.AreEqual("root", session.userName);
            Assert.AreEqual(cookie, resumed.SessionCookie);

            var vms = await resumed.RetrieveAllAsync("VirtualMachine", ["name", "config.uuid"]);
            var vm = vms.Single(o => o.propSet!.Any(p => p.name == "name" && Equals(p.val, "demo-vm-1")));
            Assert.AreEqual(Vm, vm.obj);
            var uuid = (string)vm.propSet!.Single(p => p.name == "config.uuid").val!;
            Assert.AreEqual(Vm, await resumed.FindVirtualMachineByUuidAsync(uuid));
            Assert.IsNull(await resumed.FindVirtualMachineByUuidAsync(Guid.NewGuid().ToString()));
            Assert.AreEqual(Vm, await resumed.FindByInventoryPathAsync("ha-datacenter/vm/demo-vm-1"));
            Assert.IsNull(await resumed.FindByInventoryPathAsync("ha-datacenter/vm/no-such-vm"));
            Assert.AreEqual(Vm, await resumed.FindVirtualMachineAsync("demo-vm-1"));

            var port = resumed.Url.Port;
            Assert.AreEqual(new Uri($"https://{resumed.Url.Host}:{port}/guestFile?id=1"), resumed.TransferUri("https://*:443/guestFile?id=1"), "a * host takes the endpoint's host and port");
            Assert.AreEqual(new Uri("https://other:9/guestFile?id=1"), resumed.TransferUri("https://other:9/guestFile?id=1"));
            await resumed.LogoutAsync();
        }

        await using (var ended = await VimConnection.ConnectAsync(Server.Server.SdkUri, options with { SessionCookie = cookie }))
        {
            Assert.IsNull(await ended.CurrentSessionAsync(), "the cookie of a session that ended names none");
        }

        var refused = await Assert.ThrowsAsync<CommunicationException>(() => VimConnection.ConnectAsync(Server.Server.SdkUri, new VimConnectionOptions
        {
            AcceptAnyServerCertificate = true,
            ServerCertificateValidation = (_, _, _, _) => false,
        }));
        Assert.IsTrue(Causes(refused).OfType<System.Security.Authentication.AuthenticationException>().Any(), refused.ToString());
    }

    private static IEnumerable<Exception> Causes(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            yield return cause;
        }
    }

    private static ChannelFactory<T> Factory<T>(System.Net.CookieContainer? cookies = null)
    {
        var factory = new ChannelFactory<T>(
            new BasicHttpsBinding(BasicHttpsSecurityMode.Transport) { AllowCookies = true, MaxReceivedMessageSize = 16 * 1024 * 1024 },
            new EndpointAddress(Server.Server.SdkUri));
        factory.Credentials.ServiceCertificate.SslCertificateAuthentication = new X509ServiceCertificateAuthentication
        {
            CertificateValidationMode = X509CertificateValidationMode.None,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        if (cookies is not null)
        {
            factory.Open();
            factory.GetProperty<IHttpCookieContainerManager>()!.CookieContainer = cookies;
        }

        return factory;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 100 && !await condition(); i++)
        {
            await Task.Delay(100);
        }
    }
}
