using GuestOps.Channel.Messages;
using GuestOps.Tools;
using GuestOps.Tools.Files;
using GuestOps.Tools.Errors;

namespace GuestOps.Tests.Tools;

/// <summary>ListFiles semantics, executed directly (as the test process's user).</summary>
[TestClass]
public sealed class ListFilesOperationTests
{
    private string _dir = "";

    [TestInitialize]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("guestops-ls-").FullName;
    }

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    private static ListFilesResult List(string path, int index = 0, int? max = null, string? pattern = null) =>
        ListFilesOperation.Execute(ListFilesOperation.Prepare(new ListFilesRequest { Path = path, Index = index, MaxResults = max, MatchPattern = pattern }));

    private static GuestErrorCode ErrorOf(Action action)
    {
        var ex = Assert.ThrowsExactly<GuestOperationException>(action);
        return ex.Code;
    }

    [TestMethod]
    public void Directory_ListsDotAndDotDotFirst_ThenEntries_WithAttributes()
    {
        File.WriteAllText(Path.Combine(_dir, "a.txt"), "hello");
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        var mtime = new DateTime(2024, 5, 1, 10, 20, 31, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(Path.Combine(_dir, "a.txt"), mtime);

        var r = List(_dir);
        Assert.AreEqual(0, r.Remaining);
        CollectionAssert.AreEqual(new[] { ".", ".." }, r.Entries.Take(2).Select(e => e.Name).ToArray());
        CollectionAssert.AreEquivalent(new[] { ".", "..", "a.txt", "sub" }, r.Entries.Select(e => e.Name).ToArray());

        var dot = r.Entries[0];
        Assert.AreEqual(GuestFileType.Directory, dot.Type);
        Assert.AreEqual(0L, dot.Size, "directories report size 0");
        Assert.AreEqual(0x4000u, dot.Mode & 0xF000u, "mode carries the file-type bits");

        var file = r.Entries.Single(e => e.Name == "a.txt");
        Assert.AreEqual(GuestFileType.File, file.Type);
        Assert.AreEqual(5L, file.Size);
        Assert.AreEqual(0x8000u, file.Mode & 0xF000u);
        Assert.AreEqual(mtime, file.ModificationTime.UtcDateTime);
        Assert.AreEqual(Native_Uid(), file.Uid);
        Assert.IsNull(file.SymlinkTarget);
        Assert.AreEqual(GuestFileType.Directory, r.Entries.Single(e => e.Name == "sub").Type);
    }

    [TestMethod]
    public void Paging_120Entries_DefaultPageIs50_RemainingCountsDown()
    {
        for (var i = 0; i < 118; i++)
        {
            File.WriteAllText(Path.Combine(_dir, $"f{i:D3}"), "");
        }

        // 118 files + . and .. = 120 entries.
        var seen = new List<string>();
        var index = 0;
        var remainings = new List<int>();
        while (true)
        {
            var page = List(_dir, index);
            seen.AddRange(page.Entries.Select(e => e.Name));
            remainings.Add(page.Remaining);
            index += page.Entries.Count;
            if (page.Remaining == 0)
            {
                break;
            }
        }

        CollectionAssert.AreEqual(new[] { 70, 20, 0 }, remainings);
        Assert.HasCount(120, seen);
        Assert.HasCount(120, seen.Distinct());

        var small = List(_dir, 10, 2);
        Assert.HasCount(2, small.Entries);
        Assert.AreEqual(108, small.Remaining);
        var beyond = List(_dir, 500, 10);
        Assert.HasCount(0, beyond.Entries);
        Assert.AreEqual(0, beyond.Remaining);
        var none = List(_dir, 0, 0);
        Assert.HasCount(0, none.Entries);
        Assert.AreEqual(120, none.Remaining);
    }

    [TestMethod]
    public void MatchPattern_IsARegexOverNames_AndIndexCountsWithinMatches()
    {
        foreach (var n in new[] { "app.log", "app.log.1", "data.csv", "x.log" })
        {
            File.WriteAllText(Path.Combine(_dir, n), "");
        }

        var logs = List(_dir, pattern: @"\.log$");
        CollectionAssert.AreEquivalent(new[] { "app.log", "x.log" }, logs.Entries.Select(e => e.Name).ToArray());

        var second = List(_dir, index: 1, max: 1, pattern: @"\.log");
        Assert.HasCount(1, second.Entries);
        Assert.AreEqual(1, second.Remaining, "3 names contain .log; page 2 of size 1 leaves 1");

        var dots = List(_dir, pattern: @"^\.+$");
        CollectionAssert.AreEqual(new[] { ".", ".." }, dots.Entries.Select(e => e.Name).ToArray());

        Assert.AreEqual(GuestErrorCode.InvalidArgument, ErrorOf(() => List(_dir, pattern: "([unclosed")));
    }

    [TestMethod]
    public void SingleFile_YieldsOneEntry_NamedByTheGivenPath()
    {
        var path = Path.Combine(_dir, "one.bin");
        File.WriteAllBytes(path, new byte[1234]);
        var r = List(path);
        Assert.HasCount(1, r.Entries);
        Assert.AreEqual(path, r.Entries[0].Name);
        Assert.AreEqual(1234L, r.Entries[0].Size);
        Assert.AreEqual(GuestFileType.File, r.Entries[0].Type);
        Assert.AreEqual(0, r.Remaining);
    }

    [TestMethod]
    public void Symlinks_TypeAndTarget_FromLstat_AttributesFromTarget_OrLinkWhenDangling()
    {
        var target = Path.Combine(_dir, "target.txt");
        File.WriteAllBytes(target, new byte[42]);
        File.CreateSymbolicLink(Path.Combine(_dir, "good"), "target.txt");
        File.CreateSymbolicLink(Path.Combine(_dir, "dangling"), "/nonexistent/zzz");
        Directory.CreateSymbolicLink(Path.Combine(_dir, "dirlink"), _dir);

        var r = List(_dir);
        var good = r.Entries.Single(e => e.Name == "good");
        Assert.AreEqual(GuestFileType.Symlink, good.Type);
        Assert.AreEqual("target.txt", good.SymlinkTarget);
        Assert.AreEqual(42L, good.Size, "attributes describe the target");
        Assert.AreEqual(0x8000u, good.Mode & 0xF000u);

        var dangling = r.Entries.Single(e => e.Name == "dangling");
        Assert.AreEqual(GuestFileType.Symlink, dangling.Type);
        Assert.AreEqual("/nonexistent/zzz", dangling.SymlinkTarget);
        Assert.AreEqual(0xA000u, dangling.Mode & 0xF000u, "dangling: the link's own attributes");

        var dirlink = r.Entries.Single(e => e.Name == "dirlink");
        Assert.AreEqual(GuestFileType.Symlink, dirlink.Type);
        Assert.AreEqual(0L, dirlink.Size);

        // A symlink to a directory given as the path is listed as that directory.
        var through = List(Path.Combine(_dir, "dirlink"));
        Assert.IsTrue(through.Entries.Any(e => e.Name == "target.txt"));
    }

    [TestMethod]
    public void BadPaths_AreInvalidArgument_MissingIsFileNotFound()
    {
        Assert.AreEqual(GuestErrorCode.InvalidArgument, ErrorOf(() => List("")));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, ErrorOf(() => List("relative/path")));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, ErrorOf(() => List("/tmp/a\0b")));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, ErrorOf(() => List(_dir, index: -1)));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, ErrorOf(() => List(_dir, max: -5)));
        Assert.AreEqual(GuestErrorCode.FileNotFound, ErrorOf(() => List(Path.Combine(_dir, "missing"))));
        File.WriteAllText(Path.Combine(_dir, "file"), "");
        Assert.AreEqual(GuestErrorCode.FileNotFound, ErrorOf(() => List(Path.Combine(_dir, "file", "below"))));
        Assert.AreEqual(GuestErrorCode.FileNameTooLong, ErrorOf(() => List("/" + new string('a', 300))));
    }

    private static uint Native_Uid() => GuestOps.Tools.Native.LibC.geteuid();
}
