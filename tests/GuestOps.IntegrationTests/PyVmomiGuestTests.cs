using System.Globalization;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 3 with a real client: Debian's python3-pyvmomi (python/pyvmomi_guest.py) runs
/// ValidateCredentialsInGuest and ListFilesInGuest on both demo VMs of a real server with sandboxed guests, pages a
/// directory as govc does, and gets vim.fault.InvalidGuestLogin for a wrong guest password. Missing Python or pyVmomi is
/// a failure, not a skip: CI installs python3-pyvmomi.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PyVmomiGuestTests : IntegrationTest
{
    private const string Directory = "/tmp/pyvmomi";
    private const int DemoUid = 1000;

    /// <summary>56 files, a symlink, a directory and a file naming the VM: 59 entries, so 61 results with . and .. (pages
    /// of 50 and 11 with the default maxResults).</summary>
    private static readonly string[] CommonNames =
        [.. Enumerable.Range(0, 56).Select(i => $"file-{i:00}"), "link", "subdir"];

    [TestMethod]
    [Timeout(120_000)]
    public async Task PyVmomi_ValidatesCredentialsAndPagesListFilesInGuestOnBothDemoVms_WrongPasswordIsInvalidGuestLogin()
    {
        await using var server = await GuestServer.StartAsync();
        for (var i = 0; i < server.VmNames.Count; i++)
        {
            var files = await server.FilesAsync(GuestServer.VmId(i));
            files.CreateDirectory(Directory, DemoUid, DemoUid, (UnixFileMode)0b111_101_101);
            foreach (var name in CommonNames.Where(n => n.StartsWith("file-", StringComparison.Ordinal)))
            {
                files.CreateFile($"{Directory}/{name}", name, DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
            }

            files.CreateSymlink($"{Directory}/link", "file-00", DemoUid, DemoUid);
            files.CreateDirectory($"{Directory}/subdir", DemoUid, DemoUid, (UnixFileMode)0b111_101_101);
            files.CreateFile($"{Directory}/only-in-{server.VmNames[i]}", server.VmNames[i], 0, 0, (UnixFileMode)0b110_100_100);
        }

        List<string> arguments =
        [
            "--host", "127.0.0.1", "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture),
            "--user", "root", "--password", server.Server.RootPassword!,
            "--guest-user", "demo", "--guest-password", GuestServer.GuestPassword,
            "--directory", Directory, "--match-pattern", "^only-in-", "--single-file", "file-07",
        ];
        foreach (var name in server.VmNames)
        {
            arguments.Add("--vm-name");
            arguments.Add(name);
        }

        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_guest.py", arguments, TimeSpan.FromSeconds(90));
        var result = pyvmomi.Result;
        Assert.AreEqual("guestOperationsAuthManager", result.GetProperty("authManager").GetProperty("moid").GetString());
        Assert.AreEqual("guestOperationsFileManager", result.GetProperty("fileManager").GetProperty("moid").GetString());

        var vms = result.GetProperty("vms").EnumerateArray().ToList();
        Assert.AreEqual(server.VmNames.Count, vms.Count);
        foreach (var vm in vms)
        {
            var name = vm.GetProperty("name").GetString()!;
            var other = server.VmNames.Single(n => n != name);
            Assert.IsTrue(vm.GetProperty("found").GetBoolean(), $"pyVmomi did not find {name}.");
            Assert.IsTrue(vm.GetProperty("guestOperationsReady").GetBoolean(), $"{name}: guest.guestOperationsReady");
            Assert.AreEqual(name, vm.GetProperty("hostName").GetString(), $"{name}: guest.hostName");
            Assert.AreEqual("guestToolsRunning", vm.GetProperty("toolsRunningStatus").GetString(), $"{name}: guest.toolsRunningStatus");
            Assert.IsTrue(vm.GetProperty("validated").GetBoolean(), $"{name}: ValidateCredentialsInGuest");

            var pages = vm.GetProperty("pages").EnumerateArray().Select(p => (p.GetProperty("count").GetInt32(), p.GetProperty("remaining").GetInt32())).ToList();
            CollectionAssert.AreEqual(new[] { (50, 11), (11, 0) }, pages, $"{name}: pages (count, remaining) of {Directory}");
            var files = vm.GetProperty("files").EnumerateArray().ToList();
            var names = files.Select(f => f.GetProperty("path").GetString()!).ToList();
            Assert.AreEqual(".", names[0], $"{name}: . first");
            Assert.AreEqual("..", names[1], $"{name}: .. second");
            CollectionAssert.AreEquivalent(
                new[] { ".", "..", $"only-in-{name}" }.Concat(CommonNames).ToList(),
                names,
                $"{name}: the listing is this VM's directory (with its own marker, not {other}'s)");

            foreach (var file in files)
            {
                var path = file.GetProperty("path").GetString();
                Assert.AreEqual("GuestPosixFileAttributes", file.GetProperty("attributesType").GetString(), $"{name}: {path}");
                Assert.AreEqual(JsonValueKind.String, file.GetProperty("modificationTime").ValueKind, $"{name}: {path}: modificationTime");
                Assert.AreEqual(JsonValueKind.Number, file.GetProperty("ownerId").ValueKind, $"{name}: {path}: ownerId");
                Assert.AreEqual(JsonValueKind.Number, file.GetProperty("groupId").ValueKind, $"{name}: {path}: groupId");
            }

            var file07 = files.Single(f => f.GetProperty("path").GetString() == "file-07");
            Assert.AreEqual("file", file07.GetProperty("type").GetString());
            Assert.AreEqual(7, file07.GetProperty("size").GetInt64());
            Assert.AreEqual(DemoUid, file07.GetProperty("ownerId").GetInt32());
            Assert.AreEqual(DemoUid, file07.GetProperty("groupId").GetInt32());
            var link = files.Single(f => f.GetProperty("path").GetString() == "link");
            Assert.AreEqual("symlink", link.GetProperty("type").GetString());
            Assert.AreEqual("file-00", link.GetProperty("symlinkTarget").GetString());
            Assert.AreEqual("directory", files.Single(f => f.GetProperty("path").GetString() == "subdir").GetProperty("type").GetString());

            CollectionAssert.AreEqual(new[] { $"only-in-{name}" }, vm.GetProperty("filtered").EnumerateArray().Select(e => e.GetString()).ToArray(), $"{name}: matchPattern ^only-in-");
            Assert.AreEqual(0, vm.GetProperty("filteredRemaining").GetInt32());
            var single = vm.GetProperty("single").EnumerateArray().ToList();
            Assert.AreEqual(1, single.Count, $"{name}: a single file lists one entry");
            Assert.AreEqual($"{Directory}/file-07", single[0].GetProperty("path").GetString(), $"{name}: a single file's entry has the given path");

            foreach (var (key, expected) in new[] { ("missing", "FileNotFound"), ("wrongPasswordValidate", "InvalidGuestLogin"), ("wrongPasswordList", "InvalidGuestLogin") })
            {
                var outcome = vm.GetProperty(key);
                Assert.IsTrue(outcome.GetProperty("raised").GetBoolean(), $"{name}: {key} succeeded");
                Assert.IsTrue(outcome.GetProperty("isExpected").GetBoolean(), $"{name}: {key} raised {outcome}, not vim.fault.{expected}");
            }

            // Scripts match on ESXi's texts (issue 22): the guest's own explanation may only follow them.
            var missing = vm.GetProperty("missing").GetProperty("msg").GetString()!;
            StringAssert.StartsWith(missing, $"File {Directory}/no-such-file was not found", $"{name}: FileNotFound's msg");
            foreach (var key in new[] { "wrongPasswordValidate", "wrongPasswordList" })
            {
                StringAssert.StartsWith(vm.GetProperty(key).GetProperty("msg").GetString()!,
                    "Failed to authenticate with the guest operating system using the supplied credentials.", $"{name}: {key}: InvalidGuestLogin's msg");
            }

            Assert.IsTrue(vm.GetProperty("validatedAgain").GetBoolean(), $"{name}: the right password works after wrong ones");
        }

        await AssertStillServingAsync(server.Server);
    }
}
