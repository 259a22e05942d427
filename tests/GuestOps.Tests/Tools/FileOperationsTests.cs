using GuestOps.Channel.Messages;
using GuestOps.Tools;
using GuestOps.Tools.Files;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Errors;

namespace GuestOps.Tests.Tools;

/// <summary>
/// File operation semantics and faults, executed directly as the test process's user (permission checks across
/// users are covered in <see cref="WorkerOperationsTests"/>, in a sandboxed guest).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FileOperationsTests
{
    private string _dir = "";

    [TestInitialize]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("guestops-fops-").FullName;

    [TestCleanup]
    public void Cleanup()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static GuestOperationException Fails(Action action) => Assert.ThrowsExactly<GuestOperationException>(action);

    private static void Run<T>(Func<Func<T>> prepare) => prepare()();

    private static void MkDir(string path, bool parents = false) => Run(() => MakeDirectoryOperation.Prepare(new MakeDirectoryRequest { Path = path, CreateParents = parents }));

    private static void DeleteFile(string path) => Run(() => DeleteOperation.Prepare(new DeleteFileRequest { Path = path }));

    private static void DeleteDir(string path, bool recursive = false) => Run(() => DeleteOperation.Prepare(new DeleteDirectoryRequest { Path = path, Recursive = recursive }));

    private static void MoveFile(string from, string to, bool overwrite = false) =>
        Run(() => MoveOperation.Prepare(new MoveFileRequest { Source = from, Destination = to, Overwrite = overwrite }));

    private static void MoveDir(string from, string to) => Run(() => MoveOperation.Prepare(new MoveDirectoryRequest { Source = from, Destination = to }));

    private static void Change(ChangeFileAttributesRequest request) => Run(() => ChangeFileAttributesOperation.Prepare(request));

    private static readonly GuestUser Root = new("root", 0, 0, [0], "/root");

    private static string CreateTemp(bool directory, string? dir, string prefix = "p-", string suffix = ".s") =>
        CreateTemporaryOperation.Prepare(directory
            ? new CreateTemporaryDirectoryRequest { Directory = dir, Prefix = prefix, Suffix = suffix }
            : new CreateTemporaryFileRequest { Directory = dir, Prefix = prefix, Suffix = suffix }, Root)().Path;

    [TestMethod]
    public void AllOperations_RejectEmptyRelativeAndNulPaths_AsInvalidArgument()
    {
        foreach (var bad in new[] { "", "relative/x", "/tmp/a\0b" })
        {
            Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => MkDir(bad)).Code, bad);
            Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => DeleteFile(bad)).Code);
            Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => DeleteDir(bad)).Code);
            Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => MoveFile(bad, P("x"))).Code);
            Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => MoveFile(P("x"), bad)).Code);
            Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => MoveDir(bad, P("x"))).Code);
            Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => Change(new ChangeFileAttributesRequest { Path = bad })).Code);
        }

        Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => CreateTemp(false, "relative")).Code);
        Assert.AreEqual(GuestErrorCode.FileNameTooLong, Fails(() => MkDir(P(new string('n', 300)))).Code);
    }

    [TestMethod]
    public void MakeDirectory_Plain_And_WithParents()
    {
        MkDir(P("a"));
        Assert.IsTrue(Directory.Exists(P("a")));

        var exists = Fails(() => MkDir(P("a")));
        Assert.AreEqual(GuestErrorCode.FileAlreadyExists, exists.Code);
        Assert.AreEqual(P("a"), exists.Path);

        var missingParent = Fails(() => MkDir(P("x/y/z")));
        Assert.AreEqual(GuestErrorCode.FileNotFound, missingParent.Code);

        MkDir(P("x/y/z"), parents: true);
        Assert.IsTrue(Directory.Exists(P("x/y/z")));
        MkDir(P("x/y/z"), parents: true); // an existing directory is fine with createParents
        MkDir(P("x/y/z/"), parents: true);
        MkDir("/", parents: true);

        File.WriteAllText(P("file"), "");
        Assert.AreEqual(GuestErrorCode.FileAlreadyExists, Fails(() => MkDir(P("file"))).Code);
        Assert.AreEqual(GuestErrorCode.FileAlreadyExists, Fails(() => MkDir(P("file"), parents: true)).Code);
        var under = Fails(() => MkDir(P("file/sub/deeper"), parents: true));
        Assert.AreEqual(GuestErrorCode.NotADirectory, under.Code);
        Assert.AreEqual(P("file"), under.Path);

        // A symlink to a directory is an existing directory for mkdir -p.
        Directory.CreateSymbolicLink(P("link"), P("a"));
        MkDir(P("link"), parents: true);
        MkDir(P("link/inside"), parents: true);
        Assert.IsTrue(Directory.Exists(P("a/inside")));
    }

    [TestMethod]
    public void DeleteFile_RemovesFilesAndSymlinks_NeverTargets_DirectoryIsNotAFile()
    {
        File.WriteAllText(P("f"), "x");
        DeleteFile(P("f"));
        Assert.IsFalse(File.Exists(P("f")));

        File.WriteAllText(P("target"), "keep");
        File.CreateSymbolicLink(P("link"), P("target"));
        DeleteFile(P("link"));
        Assert.IsFalse(Path.Exists(P("link")));
        Assert.AreEqual("keep", File.ReadAllText(P("target")));

        Directory.CreateDirectory(P("d"));
        Directory.CreateSymbolicLink(P("dirlink"), P("d"));
        DeleteFile(P("dirlink")); // a symlink to a directory is still a link: deleted, directory kept
        Assert.IsTrue(Directory.Exists(P("d")));

        File.CreateSymbolicLink(P("dangling"), "/nonexistent/target");
        DeleteFile(P("dangling"));
        Assert.IsNull(new FileInfo(P("dangling")).LinkTarget);

        var notAFile = Fails(() => DeleteFile(P("d")));
        Assert.AreEqual(GuestErrorCode.NotAFile, notAFile.Code);
        Assert.AreEqual(P("d"), notAFile.Path);
        var missing = Fails(() => DeleteFile(P("missing")));
        Assert.AreEqual(GuestErrorCode.FileNotFound, missing.Code);
        Assert.AreEqual(P("missing"), missing.Path);
    }

    [TestMethod]
    public void DeleteDirectory_EmptyOnly_WithoutRecursive()
    {
        Directory.CreateDirectory(P("empty"));
        DeleteDir(P("empty"));
        Assert.IsFalse(Directory.Exists(P("empty")));

        Directory.CreateDirectory(P("full"));
        File.WriteAllText(P("full/f"), "");
        var notEmpty = Fails(() => DeleteDir(P("full")));
        Assert.AreEqual(GuestErrorCode.DirectoryNotEmpty, notEmpty.Code);
        Assert.AreEqual(P("full"), notEmpty.Path);
        Assert.IsTrue(File.Exists(P("full/f")));

        File.WriteAllText(P("file"), "");
        Assert.AreEqual(GuestErrorCode.NotADirectory, Fails(() => DeleteDir(P("file"))).Code);
        Assert.AreEqual(GuestErrorCode.NotADirectory, Fails(() => DeleteDir(P("file"), recursive: true)).Code);
        Assert.AreEqual(GuestErrorCode.FileNotFound, Fails(() => DeleteDir(P("missing"))).Code);
        Assert.AreEqual(GuestErrorCode.FileNotFound, Fails(() => DeleteDir(P("missing"), recursive: true)).Code);

        // A symlink to a directory is not a directory: refused, and the target is untouched (also with a trailing slash).
        Directory.CreateSymbolicLink(P("dirlink"), P("full"));
        Assert.AreEqual(GuestErrorCode.NotADirectory, Fails(() => DeleteDir(P("dirlink"), recursive: true)).Code);
        Assert.AreEqual(GuestErrorCode.NotADirectory, Fails(() => DeleteDir(P("dirlink") + "/", recursive: true)).Code);
        Assert.IsTrue(File.Exists(P("full/f")));
    }

    [TestMethod]
    public void DeleteDirectory_Recursive_RemovesTheTree_ButNeverFollowsSymlinksOutOfIt()
    {
        var outside = P("outside");
        Directory.CreateDirectory(Path.Combine(outside, "sub"));
        File.WriteAllText(Path.Combine(outside, "precious"), "keep");
        File.WriteAllText(Path.Combine(outside, "sub", "also"), "keep");

        var tree = P("tree");
        Directory.CreateDirectory(Path.Combine(tree, "a", "b", "c"));
        File.WriteAllText(Path.Combine(tree, "a", "b", "c", "leaf"), "x");
        File.WriteAllText(Path.Combine(tree, "top"), "x");
        Directory.CreateSymbolicLink(Path.Combine(tree, "a", "escape"), outside);
        File.CreateSymbolicLink(Path.Combine(tree, "a", "b", "fileescape"), Path.Combine(outside, "precious"));
        File.CreateSymbolicLink(Path.Combine(tree, "dangling"), "/nonexistent");
        File.SetUnixFileMode(Path.Combine(tree, "a", "b"), UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);

        DeleteDir(tree, recursive: true);
        Assert.IsFalse(Path.Exists(tree));
        Assert.AreEqual("keep", File.ReadAllText(Path.Combine(outside, "precious")));
        Assert.AreEqual("keep", File.ReadAllText(Path.Combine(outside, "sub", "also")));
    }

    [TestMethod]
    public void DeleteDirectory_Recursive_HandlesDeepTrees_Iteratively()
    {
        var tree = P("deep");
        var path = tree;
        for (var i = 0; i < 300; i++)
        {
            path = Path.Combine(path, "d");
        }

        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "leaf"), "");
        DeleteDir(tree, recursive: true);
        Assert.IsFalse(Path.Exists(tree));
    }

    [TestMethod]
    public void MoveFile_Renames_OverwriteRules_AndKinds()
    {
        File.WriteAllText(P("a"), "A");
        MoveFile(P("a"), P("b"));
        Assert.IsFalse(File.Exists(P("a")));
        Assert.AreEqual("A", File.ReadAllText(P("b")));

        File.WriteAllText(P("c"), "C");
        var exists = Fails(() => MoveFile(P("b"), P("c")));
        Assert.AreEqual(GuestErrorCode.FileAlreadyExists, exists.Code);
        Assert.AreEqual(P("c"), exists.Path);
        Assert.AreEqual("A", File.ReadAllText(P("b")), "the source is untouched");
        Assert.AreEqual("C", File.ReadAllText(P("c")));

        MoveFile(P("b"), P("c"), overwrite: true);
        Assert.AreEqual("A", File.ReadAllText(P("c")));
        Assert.IsFalse(File.Exists(P("b")));

        Directory.CreateDirectory(P("dir"));
        Assert.AreEqual(GuestErrorCode.FileAlreadyExists, Fails(() => MoveFile(P("c"), P("dir"), overwrite: true)).Code);
        Assert.AreEqual(GuestErrorCode.NotAFile, Fails(() => MoveFile(P("dir"), P("elsewhere"))).Code);
        var missing = Fails(() => MoveFile(P("missing"), P("x")));
        Assert.AreEqual(GuestErrorCode.FileNotFound, missing.Code);
        Assert.AreEqual(P("missing"), missing.Path);
        var noParent = Fails(() => MoveFile(P("c"), P("nodir/x")));
        Assert.AreEqual(GuestErrorCode.FileNotFound, noParent.Code);
        Assert.AreEqual(P("nodir/x"), noParent.Path);

        // A symlink moves as a link (even one to a directory).
        Directory.CreateSymbolicLink(P("dirlink"), P("dir"));
        MoveFile(P("dirlink"), P("moved-link"));
        Assert.AreEqual(P("dir"), new DirectoryInfo(P("moved-link")).LinkTarget);
    }

    [TestMethod]
    public void MoveDirectory_DestinationMustNotExist_SourceMustBeARealDirectory()
    {
        Directory.CreateDirectory(P("src/inner"));
        File.WriteAllText(P("src/inner/f"), "x");
        MoveDir(P("src"), P("dst"));
        Assert.IsTrue(File.Exists(P("dst/inner/f")));
        Assert.IsFalse(Directory.Exists(P("src")));

        Directory.CreateDirectory(P("other"));
        File.WriteAllText(P("afile"), "");
        File.CreateSymbolicLink(P("dangling"), "/nonexistent");
        foreach (var taken in new[] { "other", "afile", "dangling" })
        {
            var e = Fails(() => MoveDir(P("dst"), P(taken)));
            Assert.AreEqual(GuestErrorCode.FileAlreadyExists, e.Code, taken);
            Assert.AreEqual(P(taken), e.Path);
        }

        Directory.CreateSymbolicLink(P("dirlink"), P("dst"));
        Assert.AreEqual(GuestErrorCode.NotADirectory, Fails(() => MoveDir(P("dirlink"), P("new"))).Code);
        Assert.AreEqual(GuestErrorCode.NotADirectory, Fails(() => MoveDir(P("afile"), P("new"))).Code);
        Assert.AreEqual(GuestErrorCode.FileNotFound, Fails(() => MoveDir(P("missing"), P("new"))).Code);
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => MoveDir(P("dst"), P("dst/inner/self"))).Code);
        Assert.IsTrue(File.Exists(P("dst/inner/f")));
    }

    [TestMethod]
    public void Moves_AcrossFileSystems_CopyThenRemove()
    {
        var other = OtherFileSystemDirectory();
        try
        {
            File.WriteAllText(P("f"), "content");
            File.SetUnixFileMode(P("f"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            var mtime = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            File.SetLastWriteTimeUtc(P("f"), mtime);
            MoveFile(P("f"), Path.Combine(other, "f"));
            Assert.IsFalse(File.Exists(P("f")));
            Assert.AreEqual("content", File.ReadAllText(Path.Combine(other, "f")));
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(Path.Combine(other, "f")));
            Assert.AreEqual(mtime, File.GetLastWriteTimeUtc(Path.Combine(other, "f")));

            File.WriteAllText(P("g"), "new");
            Assert.AreEqual(GuestErrorCode.FileAlreadyExists, Fails(() => MoveFile(P("g"), Path.Combine(other, "f"))).Code);
            MoveFile(P("g"), Path.Combine(other, "f"), overwrite: true);
            Assert.AreEqual("new", File.ReadAllText(Path.Combine(other, "f")));

            Directory.CreateDirectory(P("tree/sub"));
            File.WriteAllText(P("tree/sub/leaf"), "leaf");
            File.CreateSymbolicLink(P("tree/link"), "sub/leaf");
            MoveDir(P("tree"), Path.Combine(other, "tree"));
            Assert.IsFalse(Directory.Exists(P("tree")));
            Assert.AreEqual("leaf", File.ReadAllText(Path.Combine(other, "tree", "sub", "leaf")));
            Assert.AreEqual("sub/leaf", new FileInfo(Path.Combine(other, "tree", "link")).LinkTarget);
            Assert.IsFalse(Directory.EnumerateFileSystemEntries(other).Any(e => Path.GetFileName(e).StartsWith(".guestops-move-", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [TestMethod]
    public void ChangeFileAttributes_SetsOnlyWhatIsGiven_AndFollowsSymlinks()
    {
        var f = P("f");
        File.WriteAllText(f, "");
        var mtime = new DateTimeOffset(2021, 6, 7, 8, 9, 10, TimeSpan.Zero);
        var atime = new DateTimeOffset(2022, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Change(new ChangeFileAttributesRequest { Path = f, Attributes = new() { Permissions = 0x1ED /* 0755 */ | 0x8000 /* type bits ignored */ } });
        Assert.AreEqual((UnixFileMode)0x1ED, File.GetUnixFileMode(f));

        Change(new ChangeFileAttributesRequest { Path = f, Attributes = new() { ModificationTime = mtime } });
        Assert.AreEqual(mtime.UtcDateTime, File.GetLastWriteTimeUtc(f));
        var accessBefore = File.GetLastAccessTimeUtc(f);
        Change(new ChangeFileAttributesRequest { Path = f, Attributes = new() { AccessTime = atime } });
        Assert.AreEqual(atime.UtcDateTime, File.GetLastAccessTimeUtc(f));
        Assert.AreEqual(mtime.UtcDateTime, File.GetLastWriteTimeUtc(f), "an unset time stays");
        Assert.AreNotEqual(accessBefore, File.GetLastAccessTimeUtc(f));
        Assert.AreEqual((UnixFileMode)0x1ED, File.GetUnixFileMode(f), "unset permissions stay");

        // As root: chown to any ids; -1 leaves one unchanged.
        Change(new ChangeFileAttributesRequest { Path = f, Attributes = new() { OwnerId = 4242, GroupId = -1 } });
        Assert.AreEqual(4242u, Stat(f).Uid);
        Assert.AreEqual(0u, Stat(f).Gid);
        Change(new ChangeFileAttributesRequest { Path = f, Attributes = new() { GroupId = 4343 } });
        Assert.AreEqual(4242u, Stat(f).Uid);
        Assert.AreEqual(4343u, Stat(f).Gid);

        // A symlink path changes the target.
        File.CreateSymbolicLink(P("link"), f);
        Change(new ChangeFileAttributesRequest { Path = P("link"), Attributes = new() { Permissions = 0x180 } });
        Assert.AreEqual((UnixFileMode)0x180, File.GetUnixFileMode(f));

        Assert.AreEqual(GuestErrorCode.NotSupported, Fails(() => Change(new ChangeFileAttributesRequest { Path = f, Attributes = new() { Kind = GuestAttributeKind.Windows, Hidden = true } })).Code);
        Assert.AreEqual(GuestErrorCode.FileNotFound, Fails(() => Change(new ChangeFileAttributesRequest { Path = P("missing"), Attributes = new() { Permissions = 0x1A4 } })).Code);
        Assert.AreEqual(GuestErrorCode.FileNotFound, Fails(() => Change(new ChangeFileAttributesRequest { Path = P("missing") })).Code);
        File.CreateSymbolicLink(P("dangling"), "/nonexistent");
        Assert.AreEqual(GuestErrorCode.FileNotFound, Fails(() => Change(new ChangeFileAttributesRequest { Path = P("dangling"), Attributes = new() { Permissions = 0x1A4 } })).Code);
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => Change(new ChangeFileAttributesRequest { Path = f, Attributes = new() { OwnerId = -2 } })).Code);
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => Change(new ChangeFileAttributesRequest { Path = f, Attributes = new() { Permissions = -1 } })).Code);
    }

    [TestMethod]
    public void CreateTemporary_FileAndDirectory_Unique_Exclusive_OwnerOnly()
    {
        var file = CreateTemp(false, _dir);
        Assert.AreEqual(_dir, Path.GetDirectoryName(file));
        StringAssert.StartsWith(Path.GetFileName(file), "p-");
        StringAssert.EndsWith(file, ".s");
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.AreEqual(0L, new FileInfo(file).Length);

        var dir = CreateTemp(true, _dir + "/", "", "");
        Assert.IsTrue(Directory.Exists(dir));
        Assert.AreEqual(_dir, Path.GetDirectoryName(dir));
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));

        var names = Enumerable.Range(0, 50).Select(_ => CreateTemp(false, _dir)).ToList();
        Assert.HasCount(50, names.Distinct());

        var missing = Fails(() => CreateTemp(false, P("missing")));
        Assert.AreEqual(GuestErrorCode.FileNotFound, missing.Code);
        Assert.AreEqual(P("missing"), missing.Path);
        Assert.AreEqual(GuestErrorCode.NotADirectory, Fails(() => CreateTemp(true, file)).Code);
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => CreateTemp(false, _dir, prefix: "a/b")).Code);
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Fails(() => CreateTemp(false, _dir, suffix: "x\0")).Code);
        Assert.AreEqual(GuestErrorCode.FileNameTooLong, Fails(() => CreateTemp(false, _dir, prefix: new string('x', 300))).Code);
    }

    [TestMethod]
    public void DefaultTemporaryDirectory_IsThePerUserSafeDirectory_OrTheRootWhenSquatted()
    {
        var chosen = CreateTemporaryOperation.DefaultTemporaryDirectory(Root, _dir);
        Assert.AreEqual(P("vmware-root"), chosen.Value);
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(P("vmware-root")));

        // Someone else owns the name: not used.
        var alice = new GuestUser("alice", 4001, 4001, [4001], "/home/alice");
        Directory.CreateDirectory(P("vmware-alice"));
        File.SetUnixFileMode(P("vmware-alice"), (UnixFileMode)0x1FF);
        Assert.AreEqual(_dir, CreateTemporaryOperation.DefaultTemporaryDirectory(alice, _dir).Value);

        // A symlink squatting the name: not followed.
        var bob = new GuestUser("bob", 0, 0, [0], "/root");
        Directory.CreateSymbolicLink(P("vmware-bob"), P("vmware-root"));
        Assert.AreEqual(_dir, CreateTemporaryOperation.DefaultTemporaryDirectory(bob, _dir).Value);

        // The user's own directory with loose permissions is tightened.
        File.SetUnixFileMode(P("vmware-root"), (UnixFileMode)0x1FF);
        Assert.AreEqual(P("vmware-root"), CreateTemporaryOperation.DefaultTemporaryDirectory(Root, _dir).Value);
        Assert.AreEqual((UnixFileMode)0x1C0, File.GetUnixFileMode(P("vmware-root")));
    }

    private static GuestOps.Tools.Native.FileStatus Stat(string path)
    {
        Assert.AreEqual(0, GuestOps.Tools.Native.PosixFs.Stat(GuestOps.Tools.Native.LibC.AT_FDCWD, GuestOps.Tools.Native.LibC.Utf8Z(path), follow: false, out var st));
        return st;
    }

    /// <summary>A scratch directory on another file system than the temp directory (/dev/shm), or Inconclusive.</summary>
    private string OtherFileSystemDirectory()
    {
        if (!Directory.Exists("/dev/shm"))
        {
            Assert.Inconclusive("No /dev/shm to move across file systems.");
        }

        var other = Directory.CreateTempSubdirectory("guestops-xdev-").FullName;
        var shm = Path.Combine("/dev/shm", Path.GetFileName(other));
        Directory.Delete(other);
        Directory.CreateDirectory(shm);
        var probe = P("probe");
        File.WriteAllText(probe, "");
        var rc = GuestOps.Tools.Native.PosixIo.Rename(GuestOps.Tools.Native.LibC.AT_FDCWD, GuestOps.Tools.Native.LibC.Utf8Z(probe),
            GuestOps.Tools.Native.LibC.AT_FDCWD, GuestOps.Tools.Native.LibC.Utf8Z(Path.Combine(shm, "probe")), noReplace: false);
        if (rc != GuestOps.Tools.Native.LibC.EXDEV)
        {
            Directory.Delete(shm, recursive: true);
            Assert.Inconclusive("/dev/shm is on the same file system as the temp directory.");
        }

        File.Delete(probe);
        return shm;
    }
}
