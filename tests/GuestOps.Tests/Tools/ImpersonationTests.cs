using GuestOps.Channel.Messages;
using GuestOps.Tools;
using GuestOps.Tools.Files;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Native;
using Microsoft.Extensions.Logging.Abstractions;
using GuestOps.Tools.Errors;

namespace GuestOps.Tests.Tools;

/// <summary>
/// Per-thread impersonation with raw syscalls. Needs root (uids are plain numbers here: no accounts are created).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ImpersonationTests
{
    private const uint UidA = 51001;
    private const uint UidB = 51002;
    private const uint SharedGid = 51100;

    private static readonly GuestUser UserA = new("usera", UidA, UidA, [UidA], "/nonexistent");
    private static readonly GuestUser UserB = new("userb", UidB, UidB, [UidB], "/nonexistent");
    private static readonly GuestUser UserBInShared = new("userb", UidB, UidB, [UidB, SharedGid], "/nonexistent");

    private string _root = "";

    [TestInitialize]
    public void Setup()
    {
        if (LibC.geteuid() != 0)
        {
            Assert.Inconclusive("Impersonation tests need root.");
        }

        _root = Directory.CreateTempSubdirectory("guestops-imp-").FullName;
        File.SetUnixFileMode(_root, (UnixFileMode)0x1FF); // 0777 so both test uids can traverse
        var home = Path.Combine(_root, "home-a");
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, "secret"), "a's");
        Chown(home, UidA, UidA);
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); // 0700

        var shared = Path.Combine(_root, "shared");
        Directory.CreateDirectory(shared);
        Chown(shared, UidA, SharedGid);
        File.SetUnixFileMode(shared, (UnixFileMode)0x1F8); // 0770
    }

    [TestCleanup]
    public void Cleanup()
    {
        if (_root.Length > 0)
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private Func<ListFilesResult> ListOf(string name) =>
        () => ListFilesOperation.Execute(ListFilesOperation.Prepare(new ListFilesRequest { Path = Path.Combine(_root, name) }));

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task UserB_CannotList_UserAs0700Directory_ButUserACan()
    {
        using var imp = new ThreadImpersonator(2, NullLogger<ThreadImpersonator>.Instance);
        var denied = await Assert.ThrowsExactlyAsync<GuestOperationException>(() => imp.RunAsAsync(UserB, ListOf("home-a"), CancellationToken.None));
        Assert.AreEqual(GuestErrorCode.PermissionDenied, denied.Code);
        Assert.AreEqual(LibC.EACCES, denied.OsError);

        var ok = await imp.RunAsAsync(UserA, ListOf("home-a"), CancellationToken.None);
        CollectionAssert.AreEqual(new[] { ".", "..", "secret" }, ok.Entries.Select(e => e.Name).ToArray());
        Assert.AreEqual(UidA, ok.Entries[2].Uid);

        // Root (the worker's own identity) needs no switch and can read everything.
        var asRoot = await imp.RunAsAsync(new GuestUser("root", 0, 0, [0], "/root"), ListOf("home-a"), CancellationToken.None);
        Assert.HasCount(3, asRoot.Entries);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task SupplementaryGroups_AreApplied()
    {
        using var imp = new ThreadImpersonator(1, NullLogger<ThreadImpersonator>.Instance);
        var denied = await Assert.ThrowsExactlyAsync<GuestOperationException>(() => imp.RunAsAsync(UserB, ListOf("shared"), CancellationToken.None));
        Assert.AreEqual(GuestErrorCode.PermissionDenied, denied.Code);
        var ok = await imp.RunAsAsync(UserBInShared, ListOf("shared"), CancellationToken.None);
        Assert.HasCount(2, ok.Entries);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task OnlyTheWorkThreadChangesIdentity_AndItIsRestoredAfterwards()
    {
        using var imp = new ThreadImpersonator(1, NullLogger<ThreadImpersonator>.Instance);
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var work = imp.RunAsAsync(UserA, () =>
        {
            inside.Set();
            release.Wait(TimeSpan.FromSeconds(5));
            return (LibC.geteuid(), Environment.CurrentManagedThreadId);
        }, CancellationToken.None);

        Assert.IsTrue(inside.Wait(TimeSpan.FromSeconds(5)));
        // While the impersonation thread is user A, every other thread is still root.
        var elsewhere = await Task.Run(LibC.geteuid);
        Assert.AreEqual(0u, elsewhere);
        Assert.AreEqual(0u, LibC.geteuid());
        release.Set();
        var (euidInside, _) = await work;
        Assert.AreEqual(UidA, euidInside);

        // The same (single) thread is root again for the next item, even after a failing one.
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => imp.RunAsAsync<int>(UserB, () => throw new InvalidOperationException("x"), CancellationToken.None));
        var euidAfter = await imp.RunAsAsync(new GuestUser("root", 0, 0, [0], "/root"), LibC.geteuid, CancellationToken.None);
        Assert.AreEqual(0u, euidAfter);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task NonRootWorker_RefusesOtherUsers_InsteadOfActingAsItself()
    {
        var self = new SelfOnlyImpersonator(UidA);
        var ex = await Assert.ThrowsExactlyAsync<GuestOperationException>(() => self.RunAsAsync(UserB, () => 1, CancellationToken.None));
        Assert.AreEqual(GuestErrorCode.PermissionDenied, ex.Code);
        Assert.AreEqual(7, await self.RunAsAsync(UserA, () => 7, CancellationToken.None));
        Assert.IsFalse(self.CanImpersonateOthers);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task CanceledBeforeStart_DoesNotRun()
    {
        using var imp = new ThreadImpersonator(1, NullLogger<ThreadImpersonator>.Instance);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var ran = false;
        await Assert.ThrowsAsync<OperationCanceledException>(() => imp.RunAsAsync(UserA, () => ran = true, cts.Token));
        await imp.RunAsAsync(UserA, () => 0, CancellationToken.None); // drain
        Assert.IsFalse(ran);
    }

    [TestMethod]
    public void PosixUserDirectory_ResolvesRoot_WithGroups()
    {
        var dir = new PosixUserDirectory();
        var root = dir.FindByName("root");
        Assert.IsNotNull(root);
        Assert.AreEqual(0u, root.Uid);
        Assert.Contains(0u, root.Groups);
        Assert.IsNull(dir.FindByName("no-such-user-guestops"));
        Assert.IsNull(dir.FindByName("bad\0name"));
        Assert.AreEqual("root", dir.FindByUid(0)!.Name);
    }

    private static void Chown(string path, uint uid, uint gid)
    {
        using var p = System.Diagnostics.Process.Start("chown", ["-R", $"{uid}:{gid}", path])!;
        p.WaitForExit();
        Assert.AreEqual(0, p.ExitCode);
    }
}
