using System.Net;
using System.Net.Security;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Issue 7, optional: Kerberos SSPI logons against a sandboxed VM with a throwaway MIT KDC on loopback
/// (<see cref="ThrowawayKdc"/>: its own krb5.conf and kdc.conf through KRB5_CONFIG / KRB5_KDC_PROFILE, never /etc). The
/// KDC holds the user principal demo@GUESTOPS.TEST (a Kerberos password unrelated to the guest's) and the service
/// principal host/demo-vm-1; the server gives vm-1 that keytab and realm (GuestOps:VirtualMachines:0:KerberosKeytab /
/// KerberosRealm), and its sandboxed worker accepts Kerberos through --krb5-keytab. A C# NegotiateAuthentication client
/// (explicit NetworkCredential of the KDC's user, TargetName host/demo-vm-1) gets a ticket from AcquireCredentialsInGuest
/// for the mapped guest account demo (user@REALM -> user), and the ticket lists files. Inconclusive when the KDC tools
/// (Debian krb5-kdc and krb5-admin-server) are not installed; CI does not install them.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SspiKerberosTests : IntegrationTest
{
    private const string Realm = "GUESTOPS.TEST";
    private const string KerberosPassword = "Kdc-Only-Pa55";
    private const string Vm1 = "vm-1";
    private const string Vm2 = "vm-2";

    private static ThrowawayKdc? _kdc;
    private static GuestServer? _server;
    private static IDisposable? _clientConfiguration;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        if (ThrowawayKdc.MissingToolsMessage() is not null)
        {
            return;
        }

        _kdc = await ThrowawayKdc.StartAsync(Realm);
        await _kdc.AddUserAsync("demo", KerberosPassword);
        var keytab = await _kdc.AddServiceAsync("host/demo-vm-1");

        // The client side (this process) uses the KDC's configuration; the guest's worker reads only its own /etc and
        // the keytab the host agent copied there.
        _clientConfiguration = GuestSspi.UseKerberosConfiguration(_kdc.Krb5Config);
        _server = await GuestServer.StartAsync(vmNames: ["demo-vm-1", "demo-vm-2"], arguments:
        [
            "--GuestOps:VirtualMachines:0:KerberosKeytab=" + keytab,
            "--GuestOps:VirtualMachines:0:KerberosRealm=" + Realm,
        ]);
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }

        _clientConfiguration?.Dispose();
        _clientConfiguration = null;
        if (_kdc is not null)
        {
            await _kdc.DisposeAsync();
            _kdc = null;
        }
    }

    private static GuestServer Server => _server ?? throw new AssertFailedException("The guest server did not start.");

    private static ThrowawayKdc Kdc => _kdc ?? throw new AssertFailedException("The KDC did not start.");

    private static void RequireKdcTools()
    {
        if (ThrowawayKdc.MissingToolsMessage() is { } message)
        {
            Assert.Inconclusive(message);
        }
    }

    private static NegotiateAuthentication Client(string package, string password = KerberosPassword, bool mutual = false) =>
        new(new NegotiateAuthenticationClientOptions
        {
            Package = package,
            Credential = new NetworkCredential("demo", password, Realm),
            TargetName = "host/demo-vm-1",
            RequireMutualAuthentication = mutual,
        });

    [TestMethod]
    [Timeout(60_000)]
    [DataRow("Kerberos", false)]
    [DataRow("Kerberos", true)]
    [DataRow("Negotiate", false)]
    [DataRow("Negotiate", true)]
    public async Task KerberosFromTheKdc_GetsATicketForTheMappedAccount_ThatListsFiles(string package, bool mutual)
    {
        RequireKdcTools();
        await using var soap = await ConnectAsync(Server.Server);
        using var context = Client(package, mutual: mutual);
        SspiLogon logon;
        try
        {
            logon = await GuestSspi.LogonAsync(soap, Vm1, context);
        }
        catch (Exception e) when (e is InvalidOperationException or SspiLogonFailedException)
        {
            throw new AssertFailedException($"{package} logon failed: {e.Message}{Environment.NewLine}KDC:{Environment.NewLine}{Kdc.Log}{Environment.NewLine}{Server.Server.AllOutput}", e);
        }

        TestContext.WriteLine($"{package}: {logon.Calls} call(s), final token {(logon.FinalToken is null ? "none" : Convert.FromBase64String(logon.FinalToken).Length + " bytes")}");
        Assert.AreEqual(1, logon.Calls, "Kerberos: the AP-REQ completes the guest's side in one call");
        if (mutual || package == "Negotiate")
        {
            Assert.IsNotNull(logon.FinalToken, "the guest's final token (the AP-REP for mutual authentication, SPNEGO's accept-completed) travels back with the ticket");
        }
        else
        {
            Assert.IsNull(logon.FinalToken, "Kerberos without mutual authentication: the guest has nothing more to say");
        }

        Assert.IsTrue(context.IsAuthenticated, "the client context is complete");
        Assert.AreEqual(32, Convert.FromBase64String(logon.Ticket).Length, "a base64 256-bit ticket");

        var ticketed = GuestSspi.Ticketed(soap, Vm1, logon.Ticket);
        var home = await ticketed.ListOk("/home/demo");
        CollectionAssert.Contains(home.Names.ToList(), ".");
        var output = Server.Server.AllOutput;
        StringAssert.Contains(output, $"logon of demo@{Realm} as guest user demo", "user@REALM maps to the guest account user");
        Assert.IsFalse(output.Contains(logon.Ticket, StringComparison.Ordinal), "the ticket is never logged");

        (await ticketed.ReleaseCredentials()).AssertOk();
        (await ticketed.ListFiles("/home/demo")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        await AssertStillServingAsync(Server.Server);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AGuestWithoutAKeytab_RefusesKerberos_AndAWrongKdcPasswordGetsNoToken()
    {
        RequireKdcTools();
        await using var soap = await ConnectAsync(Server.Server);

        // vm-2 has no keytab: a Kerberos token is a mechanism it is not set up for.
        using var context = Client("Kerberos");
        var token = context.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out var status);
        Assert.AreEqual(NegotiateAuthenticationStatusCode.Completed, status, Kdc.Log);
        var refused = await GuestSspi.AcquireAsync(soap, Vm2, Convert.ToBase64String(token!), null);
        refused.AssertFault("OperationNotSupportedByGuest", "GuestOperationsFaultFault");
        StringAssert.Contains(refused.FaultMessage, "Kerberos");

        // The KDC refuses a wrong password before anything reaches the guest.
        using var wrong = Client("Kerberos", KerberosPassword + "-wrong");
        Assert.IsNull(wrong.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out status));
        Assert.AreNotEqual(NegotiateAuthenticationStatusCode.ContinueNeeded, status);
        await AssertStillServingAsync(Server.Server);
    }
}
