using System.Diagnostics;
using System.Net;
using System.Net.Security;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 7 through the typed client against sandboxed VMs: a C# client using
/// NegotiateAuthentication with explicit credentials completes AcquireCredentialsInGuest (NTLM: two calls, one
/// GuestAuthenticationChallenge; Negotiate: the same, plus the guest's final token with the ticket), uses the
/// TicketedSessionAuthentication for ValidateCredentialsInGuest, ListFilesInGuest and StartProgramInGuest (the program
/// runs as the mapped user demo), releases it, and the next use fails with InvalidGuestLogin. A wrong password is
/// InvalidGuestLogin; a ticket is refused by the other VM, after its idle timeout, and after a worker restart; an unknown
/// sessionID, a NamePasswordAuthentication and a token that is no SSPI token are refused with clear faults. Needs
/// Debian's gss-ntlmssp (.ci/run installs it).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SspiTests : IntegrationTest
{
    private const string Vm1 = "vm-1";
    private const string Vm2 = "vm-2";
    private const string Password = GuestServer.GuestPassword;

    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        GuestSspi.UseDnsFreeKerberosConfiguration();
        _server = await GuestServer.StartAsync(vmNames: ["demo-vm-1", "demo-vm-2"]);
    }

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

    /// <summary>The guest's NTLM domain: its NetBIOS name (the VM name upper-cased).</summary>
    private static string Domain(string vmId) => Server.VmName(vmId).ToUpperInvariant();

    private static NegotiateAuthentication Client(string package, string vmId, string user = "demo", string password = Password, string? domain = null) =>
        new(new NegotiateAuthenticationClientOptions
        {
            Package = package,
            Credential = new NetworkCredential(user, password, domain ?? Domain(vmId)),
            TargetName = "host/" + Server.VmName(vmId),
        });

    private Task<TypedGuestClient> LoggedInAsync() => ConnectAsync(Server.Server);

    [TestMethod]
    [Timeout(60_000)]
    public async Task Ntlm_TwoCalls_TicketListsFilesAndStartsProgramsAsTheMappedUser_ReleaseEndsIt()
    {
        await using var soap = await LoggedInAsync();
        using var context = Client("NTLM", Vm1);
        var logon = await GuestSspi.LogonAsync(soap, Vm1, context);
        Assert.AreEqual(2, logon.Calls, "NTLM: NEGOTIATE -> challenge, AUTHENTICATE -> ticket");
        Assert.IsTrue(context.IsAuthenticated);
        Assert.IsNull(logon.FinalToken, "NTLM has no final server token");
        var challenge = logon.Challenges.Single().AssertFault<GuestAuthenticationChallenge>("GuestOperationsFaultFault");
        Assert.IsInstanceOfType<SSPIAuthentication>(challenge.serverChallenge);
        Assert.IsTrue(challenge.sessionID > 0);
        Assert.IsInstanceOfType<TicketedSessionAuthentication>(logon.Completion);
        Assert.AreEqual(32, Convert.FromBase64String(logon.Ticket).Length, "a base64 256-bit ticket");

        var ticketed = GuestSspi.Ticketed(soap, Vm1, logon.Ticket);
        (await ticketed.ValidateCredentials()).AssertOk();
        var home = await ticketed.ListOk("/home/demo");
        CollectionAssert.Contains(home.Names.ToList(), ".");

        // The program runs as demo: it names a file after the user and uid it ran as.
        var marker = "sspi-" + Guid.NewGuid().ToString("N")[..8];
        var pid = await ticketed.StartProgramOk("/bin/sh", $"-c 'touch \"/home/demo/{marker}-$(id -un)-$(id -u)\"'");
        var exited = await new GuestOpsClient(soap, Vm1, "demo", Password).WaitForExitAsync(pid);
        Assert.AreEqual(0, exited.ExitCode, exited.ToString());
        Assert.AreEqual("demo", exited.Owner, exited.ToString());
        var names = (await ticketed.ListOk("/home/demo")).Names;
        CollectionAssert.Contains(names.ToList(), $"{marker}-demo-1000", "the program ran as demo (uid 1000)");

        (await ticketed.ReleaseCredentials()).AssertOk();
        (await ticketed.ListFiles("/home/demo")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        (await ticketed.ValidateCredentials()).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        (await ticketed.ReleaseCredentials()).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        var output = Server.Server.AllOutput;
        Assert.IsFalse(output.Contains(logon.Ticket, StringComparison.Ordinal), "the ticket is never logged");
        StringAssert.Contains(output, "as guest user demo", "the worker logs the logon (without secrets)");
        await AssertStillServingAsync(Server.Server);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Negotiate_Works_TheFinalTokenComesWithTheTicket()
    {
        await using var soap = await LoggedInAsync();
        using var context = Client("Negotiate", Vm1);
        var clock = Stopwatch.StartNew();
        var logon = await GuestSspi.LogonAsync(soap, Vm1, context);
        TestContext.WriteLine($"Negotiate logon: {logon.Calls} calls, {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.AreEqual(2, logon.Calls);
        Assert.IsNotNull(logon.FinalToken, "SPNEGO's final token (mechListMIC) travels back as the ticket's dynamicProperty sspiToken");
        Assert.IsTrue(context.IsAuthenticated, "the client context completed with the final token");
        await GuestSspi.Ticketed(soap, Vm1, logon.Ticket).ListOk("/home/demo");
        (await GuestSspi.Ticketed(soap, Vm1, logon.Ticket).ReleaseCredentials()).AssertOk();
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task WrongPassword_IsInvalidGuestLogin()
    {
        await using var soap = await LoggedInAsync();
        using var context = Client("NTLM", Vm1, password: Password + "-wrong");
        var failed = await Assert.ThrowsExactlyAsync<SspiLogonFailedException>(() => GuestSspi.LogonAsync(soap, Vm1, context));
        Assert.AreEqual(2, failed.Calls, "the guest refuses the AUTHENTICATE message");
        failed.Response.AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");

        using var otherDomain = Client("NTLM", Vm1, domain: "ELSEWHERE");
        (await Assert.ThrowsExactlyAsync<SspiLogonFailedException>(() => GuestSspi.LogonAsync(soap, Vm1, otherDomain))).Response
            .AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task TicketOfOneVm_IsRefusedByTheOther()
    {
        await using var soap = await LoggedInAsync();
        using var context = Client("NTLM", Vm1);
        var ticket = (await GuestSspi.LogonAsync(soap, Vm1, context)).Ticket;
        (await GuestSspi.Ticketed(soap, Vm2, ticket).ListFiles("/home/demo")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        (await GuestSspi.Ticketed(soap, Vm2, ticket).ReleaseCredentials()).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        await GuestSspi.Ticketed(soap, Vm1, ticket).ListOk("/home/demo");

        // vm-2 issues its own, for its own domain.
        using var second = Client("NTLM", Vm2);
        var ticket2 = (await GuestSspi.LogonAsync(soap, Vm2, second)).Ticket;
        await GuestSspi.Ticketed(soap, Vm2, ticket2).ListOk("/home/demo");
        (await GuestSspi.Ticketed(soap, Vm1, ticket2).ListFiles("/home/demo")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        (await GuestSspi.Ticketed(soap, Vm1, ticket).ReleaseCredentials()).AssertOk();
        (await GuestSspi.Ticketed(soap, Vm2, ticket2).ReleaseCredentials()).AssertOk();
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task UnknownSession_NamePassword_NoSspiToken_AreClearFaults()
    {
        await using var soap = await LoggedInAsync();
        using var context = Client("NTLM", Vm1);
        var first = context.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out _)!;
        var challenge = (await GuestSspi.AcquireAsync(soap, Vm1, Convert.ToBase64String(first), null)).AssertFault<GuestAuthenticationChallenge>();
        var token = context.GetOutgoingBlob(Convert.FromBase64String(((SSPIAuthentication)challenge.serverChallenge).sspiToken), out _)!;
        var unknown = (await GuestSspi.AcquireAsync(soap, Vm1, Convert.ToBase64String(token), 4242)).AssertFault<InvalidArgument>("RuntimeFaultFault");
        Assert.AreEqual("sessionID", unknown.invalidProperty);

        var demo = new GuestOpsClient(soap, Vm1, "demo", Password);
        var namePassword = await demo.AcquireCredentials(TypedGuestClient.Auth("demo", Password));
        Assert.AreEqual("requestedAuth", namePassword.AssertFault<InvalidArgument>("RuntimeFaultFault").invalidProperty);

        (await GuestSspi.AcquireAsync(soap, Vm1, Convert.ToBase64String("not an SSPI token"u8.ToArray()), null)).AssertFault("OperationNotSupportedByGuest", "GuestOperationsFaultFault");
        (await GuestSspi.AcquireAsync(soap, Vm1, "***", null)).AssertFault("InvalidArgument", "RuntimeFaultFault");
        (await demo.ReleaseCredentials()).AssertFault("InvalidArgument", "RuntimeFaultFault");
        await AssertStillServingAsync(Server.Server);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task WorkerRestart_InvalidatesEveryTicket()
    {
        await using var soap = await LoggedInAsync();
        using var context = Client("NTLM", Vm2);
        var ticket = (await GuestSspi.LogonAsync(soap, Vm2, context)).Ticket;
        await GuestSspi.Ticketed(soap, Vm2, ticket).ListOk("/home/demo");
        var worker = await Server.WorkerAsync(Vm2);
        Assert.IsTrue(GuestWorkers.Signal(worker, GuestWorkers.SIGKILL));
        await Server.WorkerAsync(Vm2, TimeSpan.FromSeconds(10), except: worker);
        await soap.WaitForReadinessAsync(Vm2, ready: true, TimeSpan.FromSeconds(10));
        (await GuestSspi.Ticketed(soap, Vm2, ticket).ListFiles("/home/demo")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        using var again = Client("NTLM", Vm2);
        await GuestSspi.Ticketed(soap, Vm2, (await GuestSspi.LogonAsync(soap, Vm2, again)).Ticket).ListOk("/home/demo");
    }
}

/// <summary>Issue 7: a ticket unused for GuestOps:GuestTicketTimeout expires in the guest (its own server, 2 s timeout).</summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SspiTicketExpiryTests : IntegrationTest
{
    [TestMethod]
    [Timeout(90_000)]
    public async Task Ticket_ExpiresWhenUnusedForTheConfiguredTimeout()
    {
        await using var server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"], arguments: ["--GuestOps:GuestTicketTimeout=00:00:02"]);
        await using var soap = await ConnectAsync(server.Server);
        using var context = new NegotiateAuthentication(new NegotiateAuthenticationClientOptions
        {
            Package = "NTLM",
            Credential = new NetworkCredential("demo", GuestServer.GuestPassword, "DEMO-VM-1"),
            TargetName = "host/demo-vm-1",
        });
        var ticketed = GuestSspi.Ticketed(soap, "vm-1", (await GuestSspi.LogonAsync(soap, "vm-1", context)).Ticket);
        (await ticketed.ValidateCredentials()).AssertOk();
        await Task.Delay(TimeSpan.FromSeconds(1));
        (await ticketed.ValidateCredentials()).AssertOk(); // use keeps it alive
        await Task.Delay(TimeSpan.FromSeconds(3));
        (await ticketed.ValidateCredentials()).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        (await ticketed.ListFiles("/home/demo")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
    }
}
