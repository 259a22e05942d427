using System.Globalization;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 5 with a real client: Debian's python3-pyvmomi and python3-requests run the upload and download
/// steps of the pyVmomi community samples (python/pyvmomi_transfer.py): InitiateFileTransferToGuest + requests.put
/// without the SOAP cookie, InitiateFileTransferFromGuest + requests.get; the bytes must come back identical, a URL
/// works once, and overwrite=False on an existing file is vim.fault.FileAlreadyExists.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PyVmomiTransferTests : IntegrationTest
{
    [TestMethod]
    [Timeout(90_000)]
    public async Task PyVmomi_CommunitySampleUploadAndDownload_BytesIdentical()
    {
        await using var server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"]);
        List<string> arguments =
        [
            "--host", "127.0.0.1", "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture),
            "--user", "root", "--password", server.Server.RootPassword!,
            "--guest-user", "demo", "--guest-password", GuestServer.GuestPassword, "--vm-name", "demo-vm-1",
        ];

        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_transfer.py", arguments, TimeSpan.FromSeconds(60));
        TestContext.WriteLine(pyvmomi.Result.GetProperty("facts").ToString());
        AssertTransfers(pyvmomi.Result, server.Server.Port);
    }

    /// <summary>What pyvmomi_transfer.py must report, whatever the provider.</summary>
    internal static void AssertTransfers(JsonElement result, int port)
    {
        var facts = result.GetProperty("facts");
        string S(string name) => facts.GetProperty(name).ValueKind == JsonValueKind.String ? facts.GetProperty(name).GetString()! : facts.GetProperty(name).GetRawText();

        StringAssert.StartsWith(S("uploadUrl"), $"https://*:{port}/guestFile?id=");
        Assert.AreEqual("200", S("putStatus"), "requests.put without a cookie");
        Assert.AreEqual("404", S("putAgainStatus"), "a used URL is refused");
        Assert.AreEqual("FileAlreadyExists", facts.GetProperty("overwriteFalse").GetProperty("wsdlName").GetString());
        Assert.AreEqual(S("sentSize"), S("downloadSize"));
        Assert.AreEqual("vim.vm.guest.FileManager.PosixFileAttributes", S("downloadAttributesType"));
        Assert.AreEqual((0x8000 | 0b110_100_100).ToString(CultureInfo.InvariantCulture), S("downloadPermissions"));
        Assert.AreEqual("1000", S("downloadOwner"));
        Assert.AreEqual("200", S("getStatus"));
        Assert.AreEqual(S("sentSize"), S("getContentLength"));
        Assert.AreEqual(S("sentSha256"), S("receivedSha256"), "bytes identical");
        Assert.AreEqual("404", S("getAgainStatus"));
    }
}
