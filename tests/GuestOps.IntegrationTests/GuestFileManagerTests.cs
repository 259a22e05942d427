using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 4, GuestFileManager, through the typed client against a sandboxed VM: one
/// test per method and per documented fault. Each test works in its own temporary directory of the guest user demo
/// (uid 1000); root is used where only root can act (chown, another user's file). One server for the class (vm-1).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestFileManagerTests : IntegrationTest
{
    private const string Vm = "vm-1";
    private const int DemoUid = 1000;
    private const string HostDirectory = "/tmp/fm-host";

    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        _server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"]);

        // Symlinks cannot be made through the API: made from the host, owned by demo in the guest.
        var files = await _server.FilesAsync(Vm);
        files.CreateDirectory(HostDirectory, DemoUid, DemoUid, (UnixFileMode)0b111_101_101);
        files.CreateFile($"{HostDirectory}/target", "target", DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
        files.CreateSymlink($"{HostDirectory}/link", "target", DemoUid, DemoUid);
        files.CreateFile($"{HostDirectory}/attr-target", "x", DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
        files.CreateSymlink($"{HostDirectory}/attr-link", "attr-target", DemoUid, DemoUid);
        files.CreateDirectory($"{HostDirectory}/real-dir", DemoUid, DemoUid, (UnixFileMode)0b111_101_101);
        files.CreateFile($"{HostDirectory}/real-dir/inside", "x", DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
        files.CreateSymlink($"{HostDirectory}/dir-link", "real-dir", DemoUid, DemoUid);
        files.CreateSymlink($"{HostDirectory}/dir-link-2", "real-dir", DemoUid, DemoUid);
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

    private async Task<(TypedGuestClient Typed, GuestOpsClient Demo, string Dir)> SetUpAsync()
    {
        var typed = await ConnectAsync(Server.Server, Vm);
        var demo = new GuestOpsClient(typed, Vm, "demo", GuestServer.GuestPassword);
        var dir = await demo.CreateTemporaryDirectoryOk("fm-", "");
        return (typed, demo, dir);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task MakeDirectoryInGuest_WithAndWithoutParents_ExistingIsFileAlreadyExists_MissingParentIsFileNotFound()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        (await demo.MakeDirectory($"{dir}/a", createParents: false)).AssertOk();
        (await demo.MakeDirectory($"{dir}/p/q/r", createParents: true)).AssertOk();
        Assert.AreEqual("directory", (await demo.ChildrenOk($"{dir}/p/q"))["r"].Type);
        Assert.AreEqual("directory", (await demo.ChildrenOk(dir))["a"].Type);
        var created = (await demo.ChildrenOk(dir))["a"];
        Assert.AreEqual(DemoUid, created.OwnerId, $"owner of {created}");

        (await demo.MakeDirectory($"{dir}/a", createParents: false)).AssertFault("FileAlreadyExists");
        (await demo.MakeDirectory($"{dir}/missing/child", createParents: false)).AssertFault("FileNotFound");
        // mkdir -p of an existing directory is fine; of an existing file it is FileAlreadyExists.
        (await demo.MakeDirectory($"{dir}/p/q", createParents: true)).AssertOk();
        await demo.CreateFileOk($"{dir}/file");
        (await demo.MakeDirectory($"{dir}/file", createParents: true)).AssertFault("FileAlreadyExists");
        (await demo.MakeDirectory($"{dir}/file", createParents: false)).AssertFault("FileAlreadyExists");

        (await demo.MakeDirectory("relative/dir", createParents: true)).AssertFault("InvalidArgument");
        (await demo.MakeDirectory("", createParents: false)).AssertFault("InvalidArgument");
        (await demo.MakeDirectory("/root/demo-cannot", createParents: false)).AssertFault("GuestPermissionDenied");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task DeleteFileInGuest_FileAndSymlinkNotItsTarget_DirectoryIsNotAFile_MissingIsFileNotFound_OtherUsersFileIsGuestPermissionDenied()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        await demo.CreateFileOk($"{dir}/f");
        (await demo.DeleteFile($"{dir}/f")).AssertOk();
        Assert.IsFalse((await demo.ChildrenOk(dir)).ContainsKey("f"));
        (await demo.DeleteFile($"{dir}/f")).AssertFault("FileNotFound");

        (await demo.DeleteFile($"{HostDirectory}/link")).AssertOk();
        var left = await demo.ChildrenOk(HostDirectory);
        Assert.IsFalse(left.ContainsKey("link"), "the symlink is deleted");
        Assert.AreEqual("file", left["target"].Type, "the symlink's target stays");

        (await demo.MakeDirectory($"{dir}/d", false)).AssertOk();
        (await demo.DeleteFile($"{dir}/d")).AssertFault("NotAFile");
        (await demo.DeleteFile("relative")).AssertFault("InvalidArgument");

        // root's file in root's 0755 directory: demo may not delete it.
        var root = demo.As("root", GuestServer.GuestPassword);
        var rootDir = await root.CreateTemporaryDirectoryOk("root-", "", "/tmp");
        (await root.ChangePosixAttributes(rootDir, permissions: 0b111_101_101)).AssertOk();
        var rootFile = await root.CreateTemporaryFileOk("r-", "", rootDir);
        (await demo.DeleteFile(rootFile)).AssertFault("GuestPermissionDenied");
        Assert.AreEqual(0, (await root.StatOk(rootFile)).OwnerId, "root's file is still there");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task SymlinkToADirectory_IsNotADirectoryForDirectoryOperations_DeleteFileRemovesTheLinkOnly()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        (await demo.MoveDirectory($"{HostDirectory}/dir-link", $"{dir}/moved")).AssertFault("NotADirectory");
        (await demo.DeleteDirectory($"{HostDirectory}/dir-link", recursive: true)).AssertFault("NotADirectory");
        Assert.AreEqual("file", (await demo.ChildrenOk($"{HostDirectory}/real-dir"))["inside"].Type, "a refused recursive delete through a link leaves the target's files");

        (await demo.MoveFile($"{HostDirectory}/dir-link-2", $"{HostDirectory}/dir-link-renamed", overwrite: false)).AssertOk();
        (await demo.DeleteFile($"{HostDirectory}/dir-link")).AssertOk();
        var left = await demo.ChildrenOk(HostDirectory);
        Assert.IsFalse(left.ContainsKey("dir-link"));
        Assert.AreEqual("symlink", left["dir-link-renamed"].Type, "MoveFileInGuest renames a symlink, even one to a directory");
        Assert.AreEqual("directory", left["real-dir"].Type);
        Assert.AreEqual("file", (await demo.ChildrenOk($"{HostDirectory}/real-dir"))["inside"].Type);

        (await demo.CreateTemporaryFile("a/b", "", dir)).AssertFault("InvalidArgument");
        (await demo.CreateTemporaryDirectory("", "x/y", dir)).AssertFault("InvalidArgument");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task DeleteDirectoryInGuest_Recursive_NonEmptyWithoutRecursiveIsDirectoryNotEmpty_FileIsNotADirectory()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        (await demo.MakeDirectory($"{dir}/t/u/v", true)).AssertOk();
        await demo.CreateFileOk($"{dir}/t/u/file");
        (await demo.DeleteDirectory($"{dir}/t", recursive: false)).AssertFault("DirectoryNotEmpty");
        Assert.IsTrue((await demo.ChildrenOk(dir)).ContainsKey("t"), "a failed delete changes nothing");
        (await demo.DeleteDirectory($"{dir}/t/u/file", recursive: false)).AssertFault("NotADirectory");
        (await demo.DeleteDirectory($"{dir}/t/u/file", recursive: true)).AssertFault("NotADirectory");
        (await demo.DeleteDirectory($"{dir}/t/u/v", recursive: false)).AssertOk();
        (await demo.DeleteDirectory($"{dir}/t", recursive: true)).AssertOk();
        Assert.AreEqual(0, (await demo.ChildrenOk(dir)).Count);
        (await demo.DeleteDirectory($"{dir}/t", recursive: true)).AssertFault("FileNotFound");
        (await demo.DeleteDirectory("", recursive: true)).AssertFault("InvalidArgument");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task MoveFileInGuest_OverwriteFalseAndTrue_DestinationDirectoryIsFileAlreadyExists_SourceDirectoryIsNotAFile()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        await demo.CreateFileOk($"{dir}/a");
        await demo.CreateFileOk($"{dir}/b");
        (await demo.MakeDirectory($"{dir}/d", false)).AssertOk();

        (await demo.MoveFile($"{dir}/a", $"{dir}/b", overwrite: false)).AssertFault("FileAlreadyExists");
        CollectionAssert.AreEquivalent(new[] { "a", "b", "d" }, (await demo.ChildrenOk(dir)).Keys.ToList());
        (await demo.ChangePosixAttributes($"{dir}/a", permissions: 0b111_000_000)).AssertOk();
        (await demo.MoveFile($"{dir}/a", $"{dir}/b", overwrite: true)).AssertOk();
        var children = await demo.ChildrenOk(dir);
        CollectionAssert.AreEquivalent(new[] { "b", "d" }, children.Keys.ToList());
        Assert.AreEqual(0b111_000_000, children["b"].Permissions & 0xFFF, $"b is the moved a: {children["b"]}");

        (await demo.MoveFile($"{dir}/b", $"{dir}/d/c", overwrite: false)).AssertOk();
        Assert.AreEqual("file", (await demo.ChildrenOk($"{dir}/d"))["c"].Type);
        await demo.CreateFileOk($"{dir}/e");
        (await demo.MoveFile($"{dir}/e", $"{dir}/d", overwrite: false)).AssertFault("FileAlreadyExists");
        (await demo.MoveFile($"{dir}/e", $"{dir}/d", overwrite: true)).AssertFault("FileAlreadyExists");
        (await demo.MoveFile($"{dir}/d", $"{dir}/x", overwrite: false)).AssertFault("NotAFile");
        (await demo.MoveFile($"{dir}/missing", $"{dir}/x", overwrite: false)).AssertFault("FileNotFound");
        (await demo.MoveFile($"{dir}/e", "x", overwrite: false)).AssertFault("InvalidArgument");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task MoveDirectoryInGuest_Renames_DestinationExistsIsFileAlreadyExists_SourceFileIsNotADirectory()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        (await demo.MakeDirectory($"{dir}/src/inner", true)).AssertOk();
        await demo.CreateFileOk($"{dir}/src/inner/f");
        (await demo.MoveDirectory($"{dir}/src", $"{dir}/dst")).AssertOk();
        CollectionAssert.AreEquivalent(new[] { "dst" }, (await demo.ChildrenOk(dir)).Keys.ToList());
        Assert.AreEqual("file", (await demo.ChildrenOk($"{dir}/dst/inner"))["f"].Type, "the tree moved with the directory");

        (await demo.MakeDirectory($"{dir}/other", false)).AssertOk();
        await demo.CreateFileOk($"{dir}/file");
        (await demo.MoveDirectory($"{dir}/dst", $"{dir}/other")).AssertFault("FileAlreadyExists");
        (await demo.MoveDirectory($"{dir}/dst", $"{dir}/file")).AssertFault("FileAlreadyExists");
        (await demo.MoveDirectory($"{dir}/file", $"{dir}/new")).AssertFault("NotADirectory");
        (await demo.MoveDirectory($"{dir}/missing", $"{dir}/new")).AssertFault("FileNotFound");
        CollectionAssert.AreEquivalent(new[] { "dst", "other", "file" }, (await demo.ChildrenOk(dir)).Keys.ToList());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task CreateTemporaryFileAndDirectoryInGuest_PrefixSuffix_DefaultDirectory_Permissions0600And0700_OwnedByTheUser()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        Assert.IsTrue(dir.StartsWith("/tmp/vmware-demo/fm-", StringComparison.Ordinal), $"default directory /tmp/vmware-demo: {dir}");

        var file = await demo.CreateTemporaryFileOk("pre-", ".suf");
        var name = file[(file.LastIndexOf('/') + 1)..];
        Assert.AreEqual("/tmp/vmware-demo", file[..file.LastIndexOf('/')], file);
        Assert.IsTrue(name.StartsWith("pre-", StringComparison.Ordinal) && name.EndsWith(".suf", StringComparison.Ordinal) && name.Length > 8, file);
        var entry = await demo.StatOk(file);
        Assert.AreEqual("file", entry.Type);
        Assert.AreEqual(0, entry.Size);
        Assert.AreEqual(0b110_000_000, entry.Permissions & 0xFFF, $"temporary file: {entry}");
        Assert.AreEqual(DemoUid, entry.OwnerId, $"temporary file: {entry}");

        var second = await demo.CreateTemporaryFileOk("pre-", ".suf");
        Assert.AreNotEqual(file, second, "temporary names are unique");

        var sub = await demo.CreateTemporaryDirectoryOk("d-", "-x", dir);
        Assert.IsTrue(sub.StartsWith(dir + "/d-", StringComparison.Ordinal) && sub.EndsWith("-x", StringComparison.Ordinal), sub);
        var subEntry = (await demo.ChildrenOk(dir))[sub[(dir.Length + 1)..]];
        Assert.AreEqual("directory", subEntry.Type);
        Assert.AreEqual(0b111_000_000, subEntry.Permissions & 0xFFF, $"temporary directory: {subEntry}");
        Assert.AreEqual(DemoUid, subEntry.OwnerId);
        var inSub = await demo.CreateTemporaryFileOk("", "", sub);
        Assert.AreEqual(sub, inSub[..inSub.LastIndexOf('/')]);

        var dirEntry = (await demo.ChildrenOk("/tmp"))["vmware-demo"];
        Assert.AreEqual(0b111_000_000, dirEntry.Permissions & 0xFFF, $"the default directory: {dirEntry}");
        Assert.AreEqual(DemoUid, dirEntry.OwnerId);

        (await demo.CreateTemporaryFile("p", "s", $"{dir}/missing")).AssertFault("FileNotFound");
        (await demo.CreateTemporaryDirectory("p", "s", $"{dir}/missing")).AssertFault("FileNotFound");
        (await demo.CreateTemporaryFile("p", "s", inSub)).AssertFault("NotADirectory");
        (await demo.CreateTemporaryFile("p", "s", "relative")).AssertFault("InvalidArgument");
        (await demo.CreateTemporaryFile("p", "s", "/root")).AssertFault("GuestPermissionDenied");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ChangeFileAttributesInGuest_PermissionsTimesOwnerAsRoot_WindowsAttributesNotSupported_SymlinkChangesTarget()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        var file = $"{dir}/f";
        await demo.CreateFileOk(file);
        var modified = new DateTime(2024, 5, 1, 10, 20, 31, DateTimeKind.Utc);
        (await demo.ChangePosixAttributes(file, permissions: 0b110_100_000, modificationTime: modified, accessTime: modified)).AssertOk();
        var entry = await demo.StatOk(file);
        Assert.AreEqual(0b110_100_000, entry.Permissions & 0xFFF, entry.ToString());
        Assert.AreEqual(modified, entry.ModificationTime, entry.ToString());
        Assert.AreEqual(modified.ToString("O"), entry.AccessTime?.ToString("O"));

        // Unset attributes stay: only the time changes.
        var later = modified.AddDays(1);
        (await demo.ChangePosixAttributes(file, modificationTime: later)).AssertOk();
        entry = await demo.StatOk(file);
        Assert.AreEqual(later, entry.ModificationTime);
        Assert.AreEqual(0b110_100_000, entry.Permissions & 0xFFF, "permissions unchanged");

        // demo cannot give a file away; root can.
        (await demo.ChangePosixAttributes(file, ownerId: 0)).AssertFault("GuestPermissionDenied");
        var root = demo.As("root", GuestServer.GuestPassword);
        var rootFile = await root.CreateTemporaryFileOk("chown-", "", "/tmp");
        (await root.ChangePosixAttributes(rootFile, ownerId: DemoUid, groupId: DemoUid)).AssertOk();
        var chowned = await root.StatOk(rootFile);
        Assert.AreEqual(DemoUid, chowned.OwnerId, chowned.ToString());
        Assert.AreEqual(DemoUid, chowned.GroupId, chowned.ToString());

        (await demo.ChangeWindowsAttributes(file, hidden: true, readOnly: true)).AssertFault("OperationNotSupportedByGuest");
        (await demo.ChangePosixAttributes($"{dir}/missing", permissions: 0b110_000_000)).AssertFault("FileNotFound");
        (await demo.ChangePosixAttributes("relative", permissions: 0b110_000_000)).AssertFault("InvalidArgument");

        // A symlink path changes its target.
        (await demo.ChangePosixAttributes($"{HostDirectory}/attr-link", permissions: 0b111_000_000)).AssertOk();
        var children = await demo.ChildrenOk(HostDirectory);
        Assert.AreEqual(0b111_000_000, children["attr-target"].Permissions & 0xFFF, $"the target changed: {children["attr-target"]}");
        Assert.AreEqual("symlink", children["attr-link"].Type);
        Assert.AreEqual("attr-target", children["attr-link"].SymlinkTarget);
    }
}
