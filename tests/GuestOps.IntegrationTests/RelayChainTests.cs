using System.Globalization;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 3 through the SOAP endpoint, with the real server and its sandboxed VMs (bubblewrap, one PID/
/// mount/UTS/user namespace per VM): guest credentials are checked in the guest, ListFilesInGuest pages with the
/// reference semantics (3.4), one guest user cannot list another's 0700 home, and two VMs are separate machines (own
/// files, own host names, own process lists). One server for the class: demo-vm-1 (vm-1) with the guest accounts root,
/// demo, alice and bob; demo-vm-2 (vm-2) with the default root and demo.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RelayChainTests : IntegrationTest
{
    private const string Vm1 = "vm-1";
    private const string Vm2 = "vm-2";
    private const string Password = GuestServer.GuestPassword;
    private const string AlicePassword = "Alice-Guest-Pa55!";
    private const string BobPassword = "Bob-Guest-Pa55!";
    private const int DemoUid = 1000;
    private const int AliceUid = 1001;
    private const int BobUid = 1002;

    /// <summary>The paging directory in vm-1: 118 entries, so a listing has 120 results with <c>.</c> and <c>..</c>.</summary>
    private const string PagingDirectory = "/tmp/paging";

    /// <summary>A fixed modification time of one file, to check the attribute end to end (2024-05-01T10:20:31Z).</summary>
    private static readonly DateTime KnownModificationTime = new(2024, 5, 1, 10, 20, 31, DateTimeKind.Utc);

    private static GuestServer? _server;
    private static string _marker = "";

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        _server = await GuestServer.StartAsync(arguments:
        [
            "--GuestOps:VirtualMachines:0:GuestAccounts:0:Name=root",
            "--GuestOps:VirtualMachines:0:GuestAccounts:0:Uid=0",
            "--GuestOps:VirtualMachines:0:GuestAccounts:1:Name=demo",
            $"--GuestOps:VirtualMachines:0:GuestAccounts:1:Uid={DemoUid}",
            "--GuestOps:VirtualMachines:0:GuestAccounts:2:Name=alice",
            $"--GuestOps:VirtualMachines:0:GuestAccounts:2:Uid={AliceUid}",
            $"--GuestOps:VirtualMachines:0:GuestAccounts:2:Password={AlicePassword}",
            "--GuestOps:VirtualMachines:0:GuestAccounts:3:Name=bob",
            $"--GuestOps:VirtualMachines:0:GuestAccounts:3:Uid={BobUid}",
            $"--GuestOps:VirtualMachines:0:GuestAccounts:3:Password={BobPassword}",
        ]);

        // vm-1's /tmp/paging, created from the host and owned as the guest must see it (through the VM's id mapping):
        // 100 files f000..f099 (owned by demo, f000 by root), 8 directories d0..d7, 10 symlinks l0..l9 (to files, to a
        // directory, one dangling) = 118 entries.
        var files = await _server.FilesAsync(Vm1);
        files.CreateDirectory(PagingDirectory, DemoUid, DemoUid, (UnixFileMode)0b111_101_101);
        for (var i = 0; i < 100; i++)
        {
            var owner = i == 0 ? 0 : DemoUid;
            files.CreateFile($"{PagingDirectory}/f{i:000}", new string('x', i), owner, owner, (UnixFileMode)0b110_100_100, i == 0 ? KnownModificationTime : null);
        }

        for (var i = 0; i < 8; i++)
        {
            files.CreateDirectory($"{PagingDirectory}/d{i}", DemoUid, DemoUid, (UnixFileMode)0b111_101_000);
        }

        for (var i = 0; i < 8; i++)
        {
            files.CreateSymlink($"{PagingDirectory}/l{i}", $"f{i:000}", DemoUid, DemoUid);
        }

        files.CreateSymlink($"{PagingDirectory}/l8", "/tmp/paging/d0", DemoUid, DemoUid);
        files.CreateSymlink($"{PagingDirectory}/l9", "missing-target", DemoUid, DemoUid);

        // alice's home is 0700 (the server creates it); put a 0600 file in it.
        files.CreateFile("/home/alice/secret.txt", "alice only", AliceUid, AliceUid, (UnixFileMode)0b110_000_000);

        // A marker in vm-1's /tmp only.
        _marker = "marker-" + Guid.NewGuid().ToString("N");
        files.CreateFile("/tmp/" + _marker, "vm-1 only", 0, 0, (UnixFileMode)0b110_100_100);
        context.WriteLine($"vm-1 ids: guest uid 0 = host uid {files.UidOffset}, guest gid 0 = host gid {files.GidOffset}");
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

    private Task<TypedGuestClient> LoggedInAsync() => ConnectAsync(Server.Server);

    /// <summary>ListFilesInGuest as <paramref name="user"/>; index, maxResults and matchPattern absent unless given.</summary>
    private static Task<GuestCallResult<GuestListFileInfo>> ListAsync(TypedGuestClient client, string vmId, string user, string password, string path, int? index = null, int? maxResults = null, string? matchPattern = null) =>
        new GuestOpsClient(client, vmId, user, password).ListFiles(path, index, maxResults, matchPattern);

    private static GuestListing ListingOk(GuestCallResult<GuestListFileInfo> result) => GuestListing.From(result.Value);

    private static Task<GuestCallResult> ValidateAsync(TypedGuestClient client, string vmId, string user, string password) =>
        new GuestOpsClient(client, vmId, user, password).ValidateCredentials();

    [TestMethod]
    [Timeout(30_000)]
    public async Task ValidateCredentialsInGuest_AcceptsTheGuestAccount_RejectsWrongPasswordAndUnknownUser()
    {
        await using var client = await LoggedInAsync();
        foreach (var vm in new[] { Vm1, Vm2 })
        {
            // The answer returns nothing (an empty ValidateCredentialsInGuestResponse): the schema check of every answer says so.
            (await ValidateAsync(client, vm, "demo", Password)).AssertOk();
        }

        (await ValidateAsync(client, Vm1, "alice", AlicePassword)).AssertOk();
        (await ValidateAsync(client, Vm1, "root", Password)).AssertOk();

        // Each VM checks against its own accounts: alice exists in vm-1 only.
        (await ValidateAsync(client, Vm2, "alice", AlicePassword)).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");

        (await ValidateAsync(client, Vm1, "demo", Password + "-wrong")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        (await ValidateAsync(client, Vm2, "demo", "")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        (await ValidateAsync(client, Vm1, "no-such-user", Password)).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");

        // Bad guest credentials are not an outage: the right ones still work.
        (await ValidateAsync(client, Vm1, "demo", Password)).AssertOk();
        (await ListAsync(client, Vm2, "demo", Password + "-wrong", "/tmp")).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
        await AssertStillServingAsync(Server.Server);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ListFilesInGuest_PagesOverA120EntryDirectoryWithTheDefaultPageSize()
    {
        await using var client = await LoggedInAsync();
        var expected = ExpectedPagingNames();

        // Default maxResults (absent) is 50: pages of 50/50/20 with remaining 70/20/0, as govc pages (index += received).
        var pages = new List<GuestListing>();
        var index = 0;
        for (var i = 0; i < 3; i++)
        {
            var page = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, index: i == 0 ? null : index));
            pages.Add(page);
            index += page.Files.Count;
        }

        CollectionAssert.AreEqual(new[] { 50, 50, 20 }, pages.Select(p => p.Files.Count).ToArray(), "page sizes");
        CollectionAssert.AreEqual(new[] { 70, 20, 0 }, pages.Select(p => p.Remaining).ToArray(), "remaining after each page");
        var all = pages.SelectMany(p => p.Names).ToList();
        Assert.AreEqual(".", all[0], "a directory listing starts with .");
        Assert.AreEqual("..", all[1], "... then ..");
        Assert.AreEqual(all.Count, all.Distinct().Count(), $"an entry came twice: {string.Join(", ", all.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key))}");
        CollectionAssert.AreEquivalent(expected, all, "the pages together are the directory (+ . and ..)");

        // The whole listing in one page has the same order as the pages (the guest's directory order).
        var whole = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, 0, 500));
        CollectionAssert.AreEqual(all, whole.Names.ToList(), "one page of 500 lists what the three pages listed, in the same order");
        Assert.AreEqual(0, whole.Remaining);

        // index + maxResults combinations.
        foreach (var (i, max, count, remaining) in new[]
        {
            (0, 1, 1, 119), (1, 1, 1, 118), (0, 120, 120, 0), (0, 119, 119, 1), (10, 25, 25, 85), (100, 50, 20, 0),
            (119, 50, 1, 0), (119, 1, 1, 0), (120, 50, 0, 0), (500, 10, 0, 0),
        })
        {
            var page = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, i, max));
            Assert.AreEqual(count, page.Files.Count, $"index {i} maxResults {max}: entries");
            Assert.AreEqual(remaining, page.Remaining, $"index {i} maxResults {max}: remaining");
            CollectionAssert.AreEqual(all.Skip(i).Take(max).ToList(), page.Names.ToList(), $"index {i} maxResults {max}: the entries at those positions");
        }

        // An index with maxResults absent: the default page size from there.
        var tail = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, index: 60));
        Assert.AreEqual(50, tail.Files.Count);
        Assert.AreEqual(10, tail.Remaining);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ListFilesInGuest_MatchPatternIsARegularExpressionOverNames_IndexCountsWithinTheMatches()
    {
        await using var client = await LoggedInAsync();

        // f000..f049: 50 names; . and .. do not match and are not listed.
        var first = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, 0, 20, "^f0[0-4][0-9]$"));
        Assert.AreEqual(20, first.Files.Count);
        Assert.AreEqual(30, first.Remaining, "remaining counts matching names only");
        var rest = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, 20, null, "^f0[0-4][0-9]$"));
        Assert.AreEqual(30, rest.Files.Count, "index counts within the filtered list");
        Assert.AreEqual(0, rest.Remaining);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 50).Select(i => $"f{i:000}").ToList(), first.Names.Concat(rest.Names).ToList());

        // A pattern is searched in the name (not anchored), as Perl's =~ does.
        var dirs = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, matchPattern: "d[0-9]"));
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 8).Select(i => $"d{i}").ToList(), dirs.Names.ToList());
        Assert.IsTrue(dirs.Files.All(f => f.Type == "directory" && f.Size == 0), string.Join(", ", dirs.Files));

        var dots = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, matchPattern: @"^\.+$"));
        CollectionAssert.AreEqual(new[] { ".", ".." }, dots.Names.ToArray());

        // .* is every entry; no match is an empty answer (no files element), not a fault.
        var everything = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, 0, 500, ".*"));
        Assert.AreEqual(120, everything.Files.Count);
        var none = await ListAsync(client, Vm1, "demo", Password, PagingDirectory, matchPattern: "^nothing-matches-this$");
        var noneListing = ListingOk(none);
        Assert.AreEqual(0, noneListing.Files.Count);
        Assert.AreEqual(0, noneListing.Remaining);

        foreach (var bad in new[] { "(", "[a-", "*f", "f{2,1}" })
        {
            (await ListAsync(client, Vm1, "demo", Password, PagingDirectory, matchPattern: bad)).AssertFault("InvalidArgument", "RuntimeFaultFault");
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ListFilesInGuest_AttributesSymlinksSingleFilesAndPathFaults()
    {
        await using var client = await LoggedInAsync();
        var listing = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory, 0, 500));
        var byName = listing.Files.ToDictionary(f => f.Path);

        // Every POSIX entry carries modificationTime, ownerId and groupId (govc dereferences them), in guest ids.
        foreach (var file in listing.Files)
        {
            Assert.AreEqual("GuestPosixFileAttributes", file.AttributesType, file.ToString());
            Assert.IsNotNull(file.ModificationTime, $"{file.Path}: modificationTime");
            Assert.IsNotNull(file.OwnerId, $"{file.Path}: ownerId");
            Assert.IsNotNull(file.GroupId, $"{file.Path}: groupId");
            Assert.IsNotNull(file.Permissions, $"{file.Path}: permissions");
            Assert.IsTrue(file.Type is "file" or "directory" or "symlink", file.ToString());
        }

        var dot = byName["."];
        Assert.AreEqual("directory", dot.Type);
        Assert.AreEqual(0L, dot.Size);
        Assert.AreEqual(DemoUid, dot.OwnerId, "ids are the guest's (the user namespace maps them), not the host's");
        Assert.AreEqual(Convert.ToInt64("40755", 8), dot.Permissions, "stat(2) st_mode with the type bits");
        Assert.AreEqual("directory", byName[".."].Type);
        Assert.AreEqual(0L, byName[".."].OwnerId, "the guest's /tmp belongs to guest root");

        var f000 = byName["f000"];
        Assert.AreEqual("file", f000.Type);
        Assert.AreEqual(0L, f000.Size);
        Assert.AreEqual(0L, f000.OwnerId);
        Assert.AreEqual(KnownModificationTime, f000.ModificationTime, "modificationTime of f000 (set from the host)");
        var f042 = byName["f042"];
        Assert.AreEqual(42L, f042.Size);
        Assert.AreEqual(DemoUid, f042.OwnerId);
        Assert.AreEqual(DemoUid, f042.GroupId);
        Assert.AreEqual(Convert.ToInt64("100644", 8), f042.Permissions);
        var d3 = byName["d3"];
        Assert.AreEqual("directory", d3.Type);
        Assert.AreEqual(0L, d3.Size, "size is 0 for directories");
        Assert.AreEqual(Convert.ToInt64("40750", 8), d3.Permissions);

        // Symlinks: type symlink, the link text, the target's attributes (the link's own when dangling).
        for (var i = 0; i < 8; i++)
        {
            var link = byName[$"l{i}"];
            Assert.AreEqual("symlink", link.Type, link.ToString());
            Assert.AreEqual($"f{i:000}", link.SymlinkTarget, link.ToString());
            Assert.AreEqual((long)i, link.Size, $"{link}: attributes describe the target");
        }

        Assert.AreEqual(KnownModificationTime, byName["l0"].ModificationTime, "l0 -> f000: the target's modificationTime");
        Assert.AreEqual("symlink", byName["l8"].Type);
        Assert.AreEqual("/tmp/paging/d0", byName["l8"].SymlinkTarget);
        Assert.AreEqual("symlink", byName["l9"].Type);
        Assert.AreEqual("missing-target", byName["l9"].SymlinkTarget, "a dangling link still reports its text");
        Assert.IsTrue(listing.Files.Where(f => !f.Path.StartsWith('l')).All(f => f.SymlinkTarget is null), "only symlinks have symlinkTarget");

        // A single file: one entry whose path is the given path.
        var single = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory + "/f042"));
        Assert.AreEqual(1, single.Files.Count);
        Assert.AreEqual(0, single.Remaining);
        Assert.AreEqual(PagingDirectory + "/f042", single.Files[0].Path);
        Assert.AreEqual("file", single.Files[0].Type);
        Assert.AreEqual(42L, single.Files[0].Size);
        Assert.AreEqual(DemoUid, single.Files[0].OwnerId);
        var singleLink = ListingOk(await ListAsync(client, Vm1, "demo", Password, PagingDirectory + "/l9"));
        Assert.AreEqual(1, singleLink.Files.Count);
        Assert.AreEqual(PagingDirectory + "/l9", singleLink.Files[0].Path);
        Assert.AreEqual("symlink", singleLink.Files[0].Type);
        Assert.AreEqual("missing-target", singleLink.Files[0].SymlinkTarget);

        // Faults: a missing path, a relative one, an empty one.
        var missing = await ListAsync(client, Vm1, "demo", Password, PagingDirectory + "/no-such-file");
        var fault = missing.AssertFault<FileNotFound>("FileFaultFault");
        Assert.AreEqual(PagingDirectory + "/no-such-file", fault.file, "FileNotFound.file names the path");
        (await ListAsync(client, Vm1, "demo", Password, "/no-such-directory/x")).AssertFault("FileNotFound", "FileFaultFault");
        (await ListAsync(client, Vm1, "demo", Password, "tmp/paging")).AssertFault("InvalidArgument", "RuntimeFaultFault");
        (await ListAsync(client, Vm1, "demo", Password, "./tmp")).AssertFault("InvalidArgument", "RuntimeFaultFault");
        (await ListAsync(client, Vm1, "demo", Password, "")).AssertFault("InvalidArgument", "RuntimeFaultFault");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ListFilesInGuest_AnotherUsersPrivateHome_IsGuestPermissionDenied_ItsOwnerListsIt()
    {
        await using var client = await LoggedInAsync();

        var asBob = await ListAsync(client, Vm1, "bob", BobPassword, "/home/alice");
        asBob.AssertFault("GuestPermissionDenied", "GuestOperationsFaultFault");
        (await ListAsync(client, Vm1, "bob", BobPassword, "/home/alice/secret.txt")).AssertFault("GuestPermissionDenied", "GuestOperationsFaultFault");

        var asAlice = ListingOk(await ListAsync(client, Vm1, "alice", AlicePassword, "/home/alice"));
        CollectionAssert.AreEquivalent(new[] { ".", "..", "secret.txt" }, asAlice.Names.ToList());
        var home = asAlice.Files.Single(f => f.Path == ".");
        Assert.AreEqual(AliceUid, home.OwnerId);
        Assert.AreEqual(Convert.ToInt64("40700", 8), home.Permissions, "alice's home is 0700");
        var secret = asAlice.Files.Single(f => f.Path == "secret.txt");
        Assert.AreEqual(10L, secret.Size);
        Assert.AreEqual(Convert.ToInt64("100600", 8), secret.Permissions);

        // bob's own home works for bob; alice cannot look into it either.
        ListingOk(await ListAsync(client, Vm1, "bob", BobPassword, "/home/bob"));
        (await ListAsync(client, Vm1, "alice", AlicePassword, "/home/bob")).AssertFault("GuestPermissionDenied", "GuestOperationsFaultFault");

        // Guest root (root of the VM's user namespace) may read everything in its guest.
        var asRoot = ListingOk(await ListAsync(client, Vm1, "root", Password, "/home/alice"));
        CollectionAssert.Contains(asRoot.Names.ToList(), "secret.txt");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task TwoVms_HaveTheirOwnFileSystemsAndHostNames()
    {
        await using var client = await LoggedInAsync();

        var inVm1 = ListingOk(await ListAsync(client, Vm1, "demo", Password, "/tmp/" + _marker));
        Assert.AreEqual("/tmp/" + _marker, inVm1.Files.Single().Path);
        (await ListAsync(client, Vm2, "demo", Password, "/tmp/" + _marker)).AssertFault("FileNotFound", "FileFaultFault");
        var vm2Tmp = ListingOk(await ListAsync(client, Vm2, "demo", Password, "/tmp", 0, 500));
        CollectionAssert.DoesNotContain(vm2Tmp.Names.ToList(), _marker);
        CollectionAssert.DoesNotContain(vm2Tmp.Names.ToList(), "paging");
        (await ListAsync(client, Vm2, "root", Password, "/home/alice")).AssertFault("FileNotFound", "FileFaultFault");

        string[] paths = ["name", "guest.hostName", "guest.guestFamily", "guest.toolsRunningStatus", "guest.guestOperationsReady"];
        var vm1 = await client.Connection.PropertiesAsync(TypedGuestClient.VmRef(Vm1), paths);
        var vm2 = await client.Connection.PropertiesAsync(TypedGuestClient.VmRef(Vm2), paths);
        Assert.AreEqual("demo-vm-1", vm1["guest.hostName"], "the worker reports its sandbox's host name (the VM name)");
        Assert.AreEqual("demo-vm-2", vm2["guest.hostName"]);
        Assert.AreNotEqual(vm1["guest.hostName"], vm2["guest.hostName"]);
        foreach (var vm in new[] { vm1, vm2 })
        {
            Assert.AreEqual("linuxGuest", vm["guest.guestFamily"]);
            Assert.AreEqual("guestToolsRunning", vm["guest.toolsRunningStatus"]);
            Assert.IsTrue(vm["guest.guestOperationsReady"] is true, "guest.guestOperationsReady");
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ListFilesInGuest_NamesWithXmlSpecialCharactersUnicodeAndWhitespace_RoundTripExactly()
    {
        await using var client = await LoggedInAsync();
        var files = await Server.FilesAsync(Vm1);
        files.CreateDirectory("/tmp/names", DemoUid, DemoUid, (UnixFileMode)0b111_101_101);
        string[] names = ["a<&>\"'b", "]]>", "sp ace", " lead", "ünïcødé ✓ 日本", "emoji-\U0001F600", "tab\tx", "nl\nx", "&amp;"];
        foreach (var name in names)
        {
            files.CreateFile("/tmp/names/" + name, name, DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
        }

        var listing = ListingOk(await ListAsync(client, Vm1, "demo", Password, "/tmp/names"));
        CollectionAssert.AreEquivalent(new[] { ".", ".." }.Concat(names).ToList(), listing.Names.ToList(), "every name exactly as in the guest");
        foreach (var name in names)
        {
            var single = ListingOk(await ListAsync(client, Vm1, "demo", Password, "/tmp/names/" + name));
            Assert.AreEqual("/tmp/names/" + name, single.Files.Single().Path, "a name received from a listing can be used as a path");
            Assert.AreEqual((long)System.Text.Encoding.UTF8.GetByteCount(name), single.Files.Single().Size);
        }

        // matchPattern sees the name as the guest has it.
        var pattern = ListingOk(await ListAsync(client, Vm1, "demo", Password, "/tmp/names", matchPattern: @"^a<&>""'b$|\t|日本"));
        CollectionAssert.AreEquivalent(new[] { "a<&>\"'b", "tab\tx", "ünïcødé ✓ 日本" }, pattern.Names.ToList());
    }

    /// <summary>
    /// Guest file names are arbitrary bytes except '/' and NUL. A carriage return must reach the client as a carriage return
    /// (written as &amp;#xD;: an XML parser turns a raw CR into LF), and a name XML 1.0 cannot carry at all (a control
    /// character such as U+0001) must not make the whole listing fail: any guest user can create one in /tmp.
    /// </summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task ListFilesInGuest_NamesWithCarriageReturnOrControlCharacters_DoNotBreakTheListing()
    {
        await using var client = await LoggedInAsync();
        var files = await Server.FilesAsync(Vm1);
        files.CreateDirectory("/tmp/cr", DemoUid, DemoUid, (UnixFileMode)0b111_101_101);
        files.CreateFile("/tmp/cr/cr\rx", "cr", DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
        files.CreateFile("/tmp/cr/cr\nx", "lf", DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
        var listing = ListingOk(await ListAsync(client, Vm1, "demo", Password, "/tmp/cr"));
        CollectionAssert.AreEquivalent(new[] { ".", "..", "cr\rx", "cr\nx" }, listing.Names.ToList(), "a CR in a name is not turned into LF (which names another file here)");
        var single = ListingOk(await ListAsync(client, Vm1, "demo", Password, "/tmp/cr/cr\rx"));
        Assert.AreEqual("/tmp/cr/cr\rx", single.Files.Single().Path);
        Assert.AreEqual(2L, single.Files.Single().Size);

        files.CreateDirectory("/tmp/control", DemoUid, DemoUid, (UnixFileMode)0b111_101_101);
        files.CreateFile("/tmp/control/ok", "", DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
        files.CreateFile("/tmp/control/ctl\u0001x", "", DemoUid, DemoUid, (UnixFileMode)0b110_100_100);
        var response = await ListAsync(client, Vm1, "demo", Password, "/tmp/control");
        var names = ListingOk(response).Names.ToList();
        CollectionAssert.IsSubsetOf(new[] { ".", "..", "ok" }, names, "the listing works and shows the representable names");
        Assert.IsTrue(names.Count <= 4, string.Join(", ", names));
        Assert.AreEqual(0, Server.Server.InternalErrorLines().Count, string.Join(Environment.NewLine, Server.Server.InternalErrorLines()));
    }

    /// <summary>
    /// "A process list taken inside a VM does not show the other VM's processes." The process list is /proc in the guest,
    /// read with ListFilesInGuest as guest root. Each sandbox mounts a /proc of its own PID namespace, so its numeric
    /// entries are exactly that namespace's processes, numbered from 1 in that namespace: pid 1 is the sandbox's init
    /// (bwrap), the worker a small number after it, and /proc/self (read by the worker) links to the worker's own pid in
    /// its namespace. From the host the test knows each VM's namespace (/proc/PID/ns/pid of its worker) and the processes in
    /// it (host pid and namespace pid, NSpid). So the check is: the pids a VM lists are its own namespace's pids (the same
    /// set the host sees in that namespace), include 1 and its worker, and include none of the host pids of the other VM's
    /// processes, of the server or of this test process (all of which a shared PID namespace would show).
    /// </summary>
    [TestMethod]
    [Timeout(30_000)]
    public async Task ProcessListInsideAVm_ShowsOnlyItsOwnPidNamespace()
    {
        await using var client = await LoggedInAsync();
        var workers = new Dictionary<string, int> { [Vm1] = await Server.WorkerAsync(Vm1), [Vm2] = await Server.WorkerAsync(Vm2) };
        var namespaces = workers.ToDictionary(w => w.Key, w => GuestWorkers.PidNamespace(w.Value));
        Assert.AreNotEqual(namespaces[Vm1], namespaces[Vm2], "each VM has a PID namespace of its own");
        Assert.AreNotEqual(GuestWorkers.PidNamespace(Environment.ProcessId), namespaces[Vm1], "the VM's PID namespace is not the host's");

        foreach (var (vm, other) in new[] { (Vm1, Vm2), (Vm2, Vm1) })
        {
            var before = GuestWorkers.ProcessesIn(namespaces[vm]);
            var listing = ListingOk(await ListAsync(client, vm, "root", Password, "/proc", 0, 10_000, "^([0-9]+|self)$"));
            var after = GuestWorkers.ProcessesIn(namespaces[vm]);
            var listed = listing.Files.Where(f => f.Path != "self").Select(f => int.Parse(f.Path, CultureInfo.InvariantCulture)).ToHashSet();
            var description = $"{vm} lists /proc pids [{string.Join(", ", listed.Order())}]; host view of its namespace {namespaces[vm]}: "
                + string.Join(", ", before.Select(p => $"{p.NamespacePid} (host {p.HostPid})"));
            TestContext.WriteLine(description);

            var workerPid = GuestWorkers.NamespacePid(workers[vm]);
            Assert.IsTrue(listed.Contains(1), $"pid 1 (the sandbox's init) is missing. {description}");
            Assert.IsTrue(listed.Contains(workerPid), $"the VM's own worker ({workerPid} in its namespace) is missing. {description}");
            Assert.AreEqual(workerPid.ToString(CultureInfo.InvariantCulture), listing.Files.Single(f => f.Path == "self").SymlinkTarget, $"/proc/self in the guest is the worker's namespace pid. {description}");

            // Exactly the namespace's processes (a process that came or went during the listing may be in one snapshot only).
            var always = before.Select(p => p.NamespacePid).Intersect(after.Select(p => p.NamespacePid)).ToHashSet();
            var ever = before.Select(p => p.NamespacePid).Union(after.Select(p => p.NamespacePid)).ToHashSet();
            Assert.IsTrue(always.IsSubsetOf(listed), $"processes of the VM's namespace are missing from its /proc. {description}");
            Assert.IsTrue(listed.IsSubsetOf(ever), $"the VM's /proc lists pids that are not in its PID namespace. {description}");
            Assert.IsTrue(listed.Count < 50, $"a fresh VM runs a handful of processes, not the host's. {description}");

            var foreign = GuestWorkers.ProcessesIn(namespaces[other]).Select(p => p.HostPid)
                .Append(workers[other]).Append(Server.Server.ProcessId).Append(Environment.ProcessId)
                .Where(p => !ever.Contains(p)) // a host pid that happens to equal one of the VM's own small pids proves nothing
                .ToList();
            var leaked = foreign.Where(listed.Contains).ToList();
            Assert.AreEqual(0, leaked.Count, $"{vm} sees host pids of processes outside it: {string.Join(", ", leaked)}. {description}");
        }
    }

    /// <summary>What a listing of /tmp/paging contains: . and .., f000..f099, d0..d7, l0..l9 (120 names).</summary>
    private static List<string> ExpectedPagingNames()
    {
        var names = new List<string> { ".", ".." };
        names.AddRange(Enumerable.Range(0, 100).Select(i => $"f{i:000}"));
        names.AddRange(Enumerable.Range(0, 8).Select(i => $"d{i}"));
        names.AddRange(Enumerable.Range(0, 10).Select(i => $"l{i}"));
        Assert.AreEqual(120, names.Count);
        return names;
    }
}
