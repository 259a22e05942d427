using System.Net;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// No secret ever reaches the logs (issue 9): a server with every category at Trace, its sandboxed workers' output
/// included, runs logins (good and bad), guest operations with passwords (good and bad) and a file transfer; then its
/// whole output is searched for the vSphere passwords, the guest passwords, the session key and the transfer token.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SecretHygieneTests : IntegrationTest
{
    [TestMethod]
    [Timeout(180_000)]
    public async Task TraceLogs_NeverContainPasswordsSessionKeysOrTransferTokens()
    {
        await using var server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"], arguments: ["--Logging:LogLevel:Default=Trace"]);
        const string WrongVspherePassword = "Wrong-vSphere-Secret-7781";
        const string WrongGuestPassword = "Wrong-Guest-Secret-5531";

        using var bad = NewClient(server.Server);
        (await bad.LoginAsync("root", WrongVspherePassword)).AssertFault("InvalidLogin");

        using var client = NewClient(server.Server);
        await client.LoginOkAsync();
        var demo = new GuestOpsClient(client, "vm-1", "demo", GuestServer.GuestPassword);
        (await GuestSoap.ValidateCredentialsAsync(client, "vm-1", "demo", WrongGuestPassword)).AssertFault("InvalidGuestLogin");
        await demo.ListOk("/tmp");
        var url = await demo.InitiateFileTransferToGuestOk("/tmp/secret-hygiene.txt", 5, overwrite: true);
        using var http = new GuestFileTransferClient(server.Server);
        Assert.AreEqual(HttpStatusCode.OK, (await http.PutAsync(url, "hello"u8.ToArray())).Status);
        Assert.AreEqual(HttpStatusCode.NotFound, (await http.PutAsync(url, "hello"u8.ToArray())).Status);
        var token = url[(url.IndexOf("token=", StringComparison.Ordinal) + "token=".Length)..];

        await server.Server.StopAsync();
        var output = server.Server.AllOutput;
        Assert.IsTrue(output.Length > 1000, "the server logged at Trace");
        foreach (var (what, secret) in new[]
        {
            ("the vSphere root password", server.Server.RootPassword!),
            ("a wrong vSphere password", WrongVspherePassword),
            ("the guest password", GuestServer.GuestPassword),
            ("a wrong guest password", WrongGuestPassword),
            ("the session key", client.SessionKey!),
            ("the transfer token", token),
        })
        {
            Assert.IsFalse(output.Contains(secret, StringComparison.Ordinal), $"{what} appears in the server's output");
        }
    }
}
