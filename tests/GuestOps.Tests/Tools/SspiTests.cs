using System.Net;
using System.Net.Security;
using GuestOps.Channel.Messages;
using GuestOps.Tools;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Native;
using GuestOps.Tools.Sspi;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using GuestOps.Tools.Errors;

namespace GuestOps.Tests.Tools;

/// <summary>
/// The worker's SSPI logons with the real GSSAPI stack (Debian's gss-ntlmssp; .ci/run installs it): a client
/// NegotiateAuthentication against <see cref="SspiAuthenticator"/> in this process, whose C environment gets
/// NTLM_USER_FILE once (it must be set before the first accept, and is process-wide).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SspiTests
{
    private const string Domain = "TESTGUEST";
    private const string DemoPassword = "Demo-Pa55";
    private static readonly GuestUser Demo = new("demo", 1000, 1000, [1000], "/home/demo");
    private static readonly GuestUser Root = new("root", 0, 0, [0], "/root");
    private static readonly Lazy<string> UserFile = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"guestops-ntlm-users-{Environment.ProcessId}");
        File.WriteAllText(path, $"{Domain}:demo:{DemoPassword}\n{Domain}:root:Root-Pa55\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.AreEqual(0, LibC.SetEnv("NTLM_USER_FILE", path, 1));
        return path;
    });

    private static IUserDirectory Users()
    {
        var users = new Mock<IUserDirectory>();
        users.Setup(u => u.FindByName("demo")).Returns(Demo);
        users.Setup(u => u.FindByName("root")).Returns(Root);
        return users.Object;
    }

    private static SspiAuthenticator Create(SspiOptions? options = null, TimeProvider? time = null, bool ntlm = true, LoginThrottle? throttle = null)
    {
        _ = UserFile.Value;
        if (!SspiSetup.NtlmMechanismInstalled())
        {
            Assert.Fail("GSSAPI has no NTLMSSP mechanism: install Debian's gss-ntlmssp (apt-get install gss-ntlmssp); .ci/run does.");
        }

        options ??= new SspiOptions { Domains = [Domain] };
        time ??= TimeProvider.System;
        return new SspiAuthenticator(options, new SspiIdentityMap(options.Domains, Users()), new TicketStore(time, options.TicketIdleTimeout, options.MaxTickets),
            throttle ?? new LoginThrottle(time, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5)), time,
            NullLogger<SspiAuthenticator>.Instance)
        {
            NtlmAvailable = ntlm,
        };
    }

    private static NegotiateAuthentication Client(string package, string user = "demo", string password = DemoPassword, string domain = Domain) =>
        new(new NegotiateAuthenticationClientOptions { Package = package, Credential = new NetworkCredential(user, password, domain), TargetName = "host/guest" });

    /// <summary>Runs the whole exchange as AcquireCredentialsInGuest would; returns the final result and the legs (calls).</summary>
    private static (AcquireCredentialsResult Result, int Calls) Logon(SspiAuthenticator sspi, NegotiateAuthentication client)
    {
        var token = client.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out var status);
        Assert.AreEqual(NegotiateAuthenticationStatusCode.ContinueNeeded, status);
        long? session = null;
        for (var calls = 1; calls < 10; calls++)
        {
            var result = Acquire(sspi, new AcquireCredentialsRequest { Token = Convert.ToBase64String(token!), SessionId = session });
            if (result.SessionId is null)
            {
                if (result.ServerToken is { } final)
                {
                    client.GetOutgoingBlob(Convert.FromBase64String(final), out status);
                    Assert.AreEqual(NegotiateAuthenticationStatusCode.Completed, status, "the client accepts the final token");
                }

                return (result, calls);
            }

            session = result.SessionId;
            token = client.GetOutgoingBlob(Convert.FromBase64String(result.ServerToken!), out status);
            Assert.IsTrue(status is NegotiateAuthenticationStatusCode.ContinueNeeded or NegotiateAuthenticationStatusCode.Completed, status.ToString());
        }

        throw new AssertFailedException("The exchange did not end.");
    }

    private static AcquireCredentialsResult Acquire(SspiAuthenticator sspi, AcquireCredentialsRequest request) =>
        sspi.AcquireAsync(request, CancellationToken.None).GetAwaiter().GetResult();

    private static GuestErrorCode FailureOf(Action action) => Assert.ThrowsExactly<GuestOperationException>(action).Code;

    [TestMethod]
    public void Ntlm_CompletesInTwoCalls_IssuesATicketForTheMappedAccount()
    {
        var sspi = Create();
        using var client = Client("NTLM");
        var (result, calls) = Logon(sspi, client);
        Assert.AreEqual(2, calls, "NTLM: negotiate -> challenge, authenticate -> ticket");
        Assert.AreEqual("demo", result.UserName);
        Assert.IsNull(result.ServerToken, "NTLM has no final server token");
        Assert.AreEqual(32, Convert.FromBase64String(result.Ticket!).Length, "a 256-bit random ticket");
        Assert.AreEqual("demo", sspi.Tickets.Find(result.Ticket!));
        Assert.AreEqual(0, sspi.PendingExchanges);
        Assert.IsTrue(client.IsAuthenticated);
    }

    [TestMethod]
    public void Negotiate_CompletesInTwoCalls_AndHandsBackTheFinalToken()
    {
        var sspi = Create();
        using var client = Client("Negotiate");
        var (result, calls) = Logon(sspi, client);
        Assert.AreEqual(2, calls);
        Assert.AreEqual("demo", result.UserName);
        Assert.IsNotNull(result.ServerToken, "SPNEGO sends a final token (mechListMIC) after completing");
        Assert.IsTrue(client.IsAuthenticated, "the client completed with the final token");
    }

    [TestMethod]
    public void NoDomainAndUpperCaseUser_MapToTheAccount()
    {
        var sspi = Create();
        using var noDomain = Client("NTLM", domain: "");
        Assert.AreEqual("demo", Logon(sspi, noDomain).Result.UserName);
        using var upper = Client("NTLM", user: "DEMO");
        Assert.AreEqual("demo", Logon(sspi, upper).Result.UserName, "DEMO -> demo (Windows names ignore case)");
    }

    [TestMethod]
    public void WrongPassword_UnknownUser_OtherDomain_AreInvalidLogin_AndEndTheExchange()
    {
        var sspi = Create();
        foreach (var (user, password, domain) in new[] { ("demo", "wrong", Domain), ("nobody", DemoPassword, Domain), ("demo", DemoPassword, "OTHER") })
        {
            using var client = Client("NTLM", user, password, domain);
            Assert.AreEqual(GuestErrorCode.InvalidLogin, FailureOf(() => Logon(sspi, client)), $"{domain}\\{user}");
        }

        Assert.AreEqual(0, sspi.PendingExchanges);
        Assert.AreEqual(0, sspi.Tickets.Count);
    }

    [TestMethod]
    public async Task FailedNtlmLogons_AreThrottledPerAccount_AndASuccessClearsThem()
    {
        var throttle = new LoginThrottle(TimeProvider.System, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(2));
        var sspi = Create(throttle: throttle);
        using (var wrong = Client("NTLM", "DEMO", "wrong"))
        {
            Assert.AreEqual(GuestErrorCode.InvalidLogin, FailureOf(() => Logon(sspi, wrong)));
        }

        Assert.AreEqual(1, throttle.FailureCount("demo"), "DEMO's failure counts for the guest account demo, as a password failure would");
        using (var other = Client("NTLM", "nobody", "wrong"))
        {
            Assert.AreEqual(GuestErrorCode.InvalidLogin, FailureOf(() => Logon(sspi, other)));
        }

        // The next logon of demo: its NEGOTIATE leg goes through at once; its AUTHENTICATE leg waits for demo's slot.
        using var right = Client("NTLM");
        var negotiate = right.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out _)!;
        var challenge = await sspi.AcquireAsync(new AcquireCredentialsRequest { Token = Convert.ToBase64String(negotiate) }, CancellationToken.None);
        var authenticate = right.GetOutgoingBlob(Convert.FromBase64String(challenge.ServerToken!), out _)!;
        Assert.AreEqual(Domain + "\\demo", SspiMechanisms.NtlmAuthenticateIdentity(authenticate));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var leg = sspi.AcquireAsync(new AcquireCredentialsRequest { Token = Convert.ToBase64String(authenticate), SessionId = challenge.SessionId }, CancellationToken.None);
        Assert.IsFalse(leg.IsCompleted, "demo is in its back-off");
        Assert.AreEqual("demo", (await leg).UserName);
        Assert.IsGreaterThanOrEqualTo(300, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        Assert.AreEqual(0, throttle.FailureCount("demo"), "a successful logon clears the record");
    }

    [TestMethod]
    public void NtlmAuthenticateIdentity_OnlyFromAWellFormedAuthenticateMessage()
    {
        using var client = Client("NTLM");
        var negotiate = client.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out _)!;
        Assert.IsNull(SspiMechanisms.NtlmAuthenticateIdentity(negotiate), "a NEGOTIATE message names nobody");
        Assert.IsNull(SspiMechanisms.NtlmAuthenticateIdentity("hello"u8));

        var message = new byte[64 + 10];
        "NTLMSSP\0"u8.CopyTo(message);
        message[8] = 3;
        message[60] = 1; // unicode
        // user "ab" (UTF-16LE) at offset 64; no domain
        message[36] = 4; message[38] = 4; message[40] = 64;
        message[64] = (byte)'a'; message[66] = (byte)'b';
        Assert.AreEqual("ab", SspiMechanisms.NtlmAuthenticateIdentity(message));
        message[40] = 200; // the user field points past the end
        Assert.IsNull(SspiMechanisms.NtlmAuthenticateIdentity(message));
        Assert.IsNull(SspiMechanisms.NtlmAuthenticateIdentity(message.AsSpan(0, 40)), "truncated");
    }

    [TestMethod]
    public void UnknownSession_BadBase64_UnknownMechanism_MechanismNotSetUp()
    {
        var sspi = Create();
        using var client = Client("NTLM");
        var first = client.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out _)!;
        var challenge = Acquire(sspi, new AcquireCredentialsRequest { Token = Convert.ToBase64String(first) });
        var answer = client.GetOutgoingBlob(Convert.FromBase64String(challenge.ServerToken!), out _)!;
        Assert.AreEqual(GuestErrorCode.UnknownAuthenticationSession,
            FailureOf(() => Acquire(sspi, new AcquireCredentialsRequest { Token = Convert.ToBase64String(answer), SessionId = challenge.SessionId! + 1 })));
        Assert.AreEqual("demo", Acquire(sspi, new AcquireCredentialsRequest { Token = Convert.ToBase64String(answer), SessionId = challenge.SessionId }).UserName);
        Assert.AreEqual(GuestErrorCode.UnknownAuthenticationSession,
            FailureOf(() => Acquire(sspi, new AcquireCredentialsRequest { Token = Convert.ToBase64String(answer), SessionId = challenge.SessionId })), "a completed session is gone");

        Assert.AreEqual(GuestErrorCode.InvalidArgument, FailureOf(() => Acquire(sspi, new AcquireCredentialsRequest { Token = "not base64!" })));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, FailureOf(() => Acquire(sspi, new AcquireCredentialsRequest { Token = "" })));
        Assert.AreEqual(GuestErrorCode.NotSupported, FailureOf(() => Acquire(sspi, new AcquireCredentialsRequest { Token = Convert.ToBase64String("hello"u8.ToArray()) })));
        Assert.AreEqual(GuestErrorCode.NotSupported, FailureOf(() => Acquire(Create(ntlm: false), new AcquireCredentialsRequest { Token = Convert.ToBase64String(first) })),
            "NTLM is not set up");
    }

    [TestMethod]
    public void PendingExchanges_AreCapped_AndTimeOut()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var sspi = Create(new SspiOptions { Domains = [Domain], MaxPendingExchanges = 2, ExchangeTimeout = TimeSpan.FromSeconds(30) }, time);
        var clients = Enumerable.Range(0, 3).Select(_ => Client("NTLM")).ToList();
        var tokens = clients.Select(c => Convert.ToBase64String(c.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out _)!)).ToList();
        var first = Acquire(sspi, new AcquireCredentialsRequest { Token = tokens[0] });
        Acquire(sspi, new AcquireCredentialsRequest { Token = tokens[1] });
        Assert.AreEqual(GuestErrorCode.TooManyLogons, FailureOf(() => Acquire(sspi, new AcquireCredentialsRequest { Token = tokens[2] })));

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.IsNotNull(Acquire(sspi, new AcquireCredentialsRequest { Token = tokens[2] }).SessionId, "timed-out exchanges make room");
        var answer = clients[0].GetOutgoingBlob(Convert.FromBase64String(first.ServerToken!), out _)!;
        Assert.AreEqual(GuestErrorCode.UnknownAuthenticationSession,
            FailureOf(() => Acquire(sspi, new AcquireCredentialsRequest { Token = Convert.ToBase64String(answer), SessionId = first.SessionId })), "an exchange idle past its timeout is gone");
        clients.ForEach(c => c.Dispose());
    }

    [TestMethod]
    public void Tickets_AreCapped_TooManyLogons()
    {
        var sspi = Create(new SspiOptions { Domains = [Domain], MaxTickets = 1 });
        using var one = Client("NTLM");
        var ticket = Logon(sspi, one).Result.Ticket!;
        using var two = Client("NTLM");
        Assert.AreEqual(GuestErrorCode.TooManyLogons, FailureOf(() => Logon(sspi, two)));
        Assert.IsTrue(sspi.Tickets.Revoke(ticket));
        using var three = Client("NTLM");
        Assert.IsNotNull(Logon(sspi, three).Result.Ticket, "releasing a ticket makes room");
    }

    [TestMethod]
    public void TicketStore_FindRevokeExpire_AndEachStoreKnowsOnlyItsOwnTickets()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var store = new TicketStore(time, TimeSpan.FromMinutes(10), 10);
        var other = new TicketStore(time, TimeSpan.FromMinutes(10), 10);
        var ticket = store.Issue("demo")!;
        Assert.AreNotEqual(ticket, store.Issue("demo"), "unguessable: every ticket is new");
        Assert.AreEqual("demo", store.Find(ticket));
        Assert.IsNull(other.Find(ticket), "another VM's worker does not know it");
        Assert.IsNull(store.Find(ticket + "x"));
        Assert.IsNull(store.Find(""));

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.AreEqual("demo", store.Find(ticket), "use extends the idle timeout");
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.AreEqual("demo", store.Find(ticket));
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.IsNull(store.Find(ticket), "expired after 10 minutes unused");

        var released = store.Issue("root")!;
        Assert.IsTrue(store.Revoke(released));
        Assert.IsNull(store.Find(released));
        Assert.IsFalse(store.Revoke(released), "already released");
    }

    [TestMethod]
    public void IdentityMap_FollowsTheDocumentedRules()
    {
        var map = new SspiIdentityMap([Domain, "EXAMPLE.ORG"], Users());
        Assert.AreEqual("demo", map.AccountName($"{Domain}\\demo"));
        Assert.AreEqual("demo", map.AccountName("testguest\\demo"), "domains ignore case");
        Assert.AreEqual("demo", map.AccountName("demo"));
        Assert.AreEqual("demo", map.AccountName("\\demo"));
        Assert.AreEqual("demo", map.AccountName("demo@EXAMPLE.ORG"));
        Assert.IsNull(map.AccountName("demo@example.org"), "realms are exact");
        Assert.IsNull(map.AccountName("OTHER\\demo"));
        Assert.IsNull(map.AccountName("demo@OTHER.ORG"));
        Assert.IsNull(map.AccountName("host/guest@EXAMPLE.ORG"), "service principals");
        Assert.IsNull(map.AccountName(""));
        Assert.IsNull(map.AccountName(null));
        Assert.IsNull(map.AccountName($"{Domain}\\"));
        Assert.IsNull(map.AccountName($"{Domain}\\a\\b"));
        Assert.AreEqual(Demo, map.Map($"{Domain}\\DEMO"));
        Assert.IsNull(map.Map($"{Domain}\\ghost"), "no such account");
    }

    [TestMethod]
    public void Mechanism_IsRecognizedFromTheFirstToken()
    {
        using var ntlm = Client("NTLM");
        Assert.AreEqual(SspiMechanism.Ntlm, SspiMechanisms.Detect(ntlm.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out _)));
        using var negotiate = Client("Negotiate");
        Assert.AreEqual(SspiMechanism.Negotiate, SspiMechanisms.Detect(negotiate.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out _)));
        byte[] kerberos = [0x60, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00];
        Assert.AreEqual(SspiMechanism.Kerberos, SspiMechanisms.Detect(kerberos));
        Assert.AreEqual(SspiMechanism.Unknown, SspiMechanisms.Detect([0x60, 0x85]));
        Assert.AreEqual(SspiMechanism.Unknown, SspiMechanisms.Detect([]));
        Assert.AreEqual(SspiMechanism.Unknown, SspiMechanisms.Detect("NTLM"u8));
    }

    [TestMethod]
    public async Task Tickets_AuthenticateCalls_AsTheirUser()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var store = new TicketStore(time, TimeSpan.FromMinutes(1), 10);
        var auth = new GuestAuthenticationService(Mock.Of<IGuestAuthenticator>(MockBehavior.Strict), Users(),
            new LoginThrottle(time, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5)), null, NullLogger<GuestAuthenticationService>.Instance, store);
        var ticket = store.Issue("demo")!;
        Assert.AreEqual(Demo, await auth.AuthenticateAsync(new GuestTicketCredential(ticket), CancellationToken.None));
        var ex = await Assert.ThrowsExactlyAsync<GuestOperationException>(() => auth.AuthenticateAsync(new GuestTicketCredential("bogus"), CancellationToken.None));
        Assert.AreEqual(GuestErrorCode.InvalidLogin, ex.Code);
        var gone = store.Issue("ghost")!;
        ex = await Assert.ThrowsExactlyAsync<GuestOperationException>(() => auth.AuthenticateAsync(new GuestTicketCredential(gone), CancellationToken.None));
        Assert.AreEqual(GuestErrorCode.InvalidLogin, ex.Code, "the account no longer exists");
    }

    [TestMethod]
    public void WorkerOptions_ParseTheSspiSettings()
    {
        var options = WorkerOptions.Parse(
            ["--connect", "unix:/x.sock", "--ntlm-user-file", "/etc/u", "--sspi-domain", "A", "--sspi-domain", "B.ORG", "--ticket-ttl", "60", "--max-tickets", "5", "--krb5-keytab", "/etc/k"],
            out var error, out _);
        Assert.IsNull(error);
        Assert.AreEqual("/etc/u", options!.Sspi.NtlmUserFile);
        Assert.AreEqual("/etc/k", options.Sspi.Keytab);
        CollectionAssert.AreEqual(new[] { "A", "B.ORG" }, options.Sspi.Domains.ToArray());
        Assert.AreEqual(TimeSpan.FromSeconds(60), options.Sspi.TicketIdleTimeout);
        Assert.AreEqual(5, options.Sspi.MaxTickets);
        Assert.IsNull(WorkerOptions.Parse(["--connect", "unix:/x.sock", "--ticket-ttl", "0"], out error, out _));
        Assert.IsNotNull(error);
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
