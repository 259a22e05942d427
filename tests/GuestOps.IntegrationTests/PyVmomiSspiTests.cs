using System.Globalization;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 7 with a real client: Debian's python3-pyvmomi with NTLM tokens made in Python by Debian's
/// python3-ntlm-auth (python/pyvmomi_sspi.py) completes AcquireCredentialsInGuest through vim.fault.GuestAuthenticationChallenge,
/// lists files with the returned TicketedSessionAuthentication, releases it (the next use is InvalidGuestLogin), and a
/// wrong password is InvalidGuestLogin. Missing Python, pyVmomi or ntlm_auth is a failure: .ci/run installs them.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PyVmomiSspiTests : IntegrationTest
{
    [TestMethod]
    [Timeout(120_000)]
    public Task PyVmomi_AcquiresATicketWithNtlmTokensFromPython_ListsFiles_Releases() => RunAsync(firstSessionId: null);

    /// <summary>Issue 22: clients that fill every numeric field send sessionID 0 on the first leg, meaning "none".</summary>
    [TestMethod]
    [Timeout(120_000)]
    public Task PyVmomi_FirstLegWithSessionIdZero_IsAnsweredWithAChallenge_AndTheLogonCompletes() => RunAsync(firstSessionId: 0);

    private async Task RunAsync(long? firstSessionId)
    {
        await using var server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"]);
        List<string> arguments =
        [
            "--host", "127.0.0.1", "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture),
            "--user", "root", "--password", server.Server.RootPassword!,
            "--guest-user", "demo", "--guest-password", GuestServer.GuestPassword, "--guest-domain", "DEMO-VM-1",
            "--vm-name", "demo-vm-1", "--directory", "/home/demo",
        ];
        if (firstSessionId is { } first)
        {
            arguments.AddRange(["--first-session-id", first.ToString(CultureInfo.InvariantCulture)]);
        }

        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_sspi.py", arguments, TimeSpan.FromSeconds(90));
        var result = pyvmomi.Result;
        var firstLeg = result.GetProperty("firstLegRequest").GetString()!;
        if (firstSessionId is { } sent)
        {
            StringAssert.Contains(firstLeg, $"<sessionID>{sent}</sessionID>", "pyVmomi sent the sessionID on the first leg");
        }
        else
        {
            Assert.IsFalse(firstLeg.Contains("<sessionID>", StringComparison.Ordinal), firstLeg);
        }

        Assert.AreEqual(2, result.GetProperty("calls").GetInt32(), "NEGOTIATE -> challenge, AUTHENTICATE -> ticket");
        var challenge = result.GetProperty("challenges").EnumerateArray().Single();
        Assert.AreEqual("SSPIAuthentication", challenge.GetProperty("serverChallengeType").GetString());
        Assert.IsTrue(challenge.GetProperty("sessionID").GetInt64() > 0);
        Assert.AreEqual("TicketedSessionAuthentication", result.GetProperty("returnedType").GetString());
        Assert.AreEqual(32, result.GetProperty("ticketLength").GetInt32());
        Assert.IsTrue(result.GetProperty("validated").GetBoolean());
        CollectionAssert.Contains(result.GetProperty("files").EnumerateArray().Select(f => f.GetString()).ToList(), ".");
        Assert.IsTrue(result.GetProperty("released").GetBoolean());
        foreach (var key in new[] { "afterRelease", "wrongPassword" })
        {
            var outcome = result.GetProperty(key);
            Assert.IsTrue(outcome.GetProperty("raised").GetBoolean(), $"{key} succeeded");
            Assert.IsTrue(outcome.GetProperty("isExpected").GetBoolean(), $"{key} raised {outcome}, not vim.fault.InvalidGuestLogin");
        }

        await AssertStillServingAsync(server.Server);
    }
}
