using System.Net;
using GuestOps.Client;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// No secret ever reaches the logs (issue 9): a server with every category at Trace, its sandboxed workers' output
/// included, runs logins (good and bad; through the typed client), guest operations with passwords (good and bad) and a file transfer; then its
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

        await using (var bad = await VimConnection.ConnectAsync(server.Server.SdkUri, new VimConnectionOptions { AcceptAnyServerCertificate = true }))
        {
            await TypedGuestClient.AssertFaultAsync<InvalidLogin>(() => bad.LoginAsync("root", WrongVspherePassword));
        }

        await using var client = await TypedGuestClient.ConnectAsync(server.Server);
        var sessionKey = client.Connection.SessionCookie![(VimConnection.SessionCookieName.Length + 1)..].Trim('"'); // as the cookie carries it
        var (managers, vm) = (client.Managers, client.Vm);
        var demo = TypedGuestClient.Auth("demo", GuestServer.GuestPassword);
        await TypedGuestClient.AssertFaultAsync<InvalidGuestLogin>(() => client.Port.ValidateCredentialsInGuestAsync(managers.AuthManager, vm, TypedGuestClient.Auth("demo", WrongGuestPassword)));
        await client.Port.ListFilesInGuestAsync(managers.FileManager, vm, demo, "/tmp", null, null, null);
        var url = await client.Port.InitiateFileTransferToGuestAsync(managers.FileManager, vm, demo, "/tmp/secret-hygiene.txt", new GuestFileAttributes(), 5, true);

        // The transfer URL over plain HTTP, to see its reuse refused as well.
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
            ("the session key", sessionKey),
            ("the transfer token", token),
        })
        {
            Assert.IsFalse(output.Contains(secret, StringComparison.Ordinal), $"{what} appears in the server's output");
        }
    }
}
