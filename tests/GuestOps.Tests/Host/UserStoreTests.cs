using GuestOps.Host.Sessions;

namespace GuestOps.Tests.Host;

[TestClass]
public sealed class UserStoreTests
{
    [TestMethod]
    public async Task VerifiesPasswordsAndPersistsOnlyHashes()
    {
        var dir = Directory.CreateTempSubdirectory("guestops-users-");
        try
        {
            var store = new UserStore(dir.FullName);
            Assert.IsTrue(store.IsEmpty);
            await store.SetAsync("root", "Administrator", "s3cret!");

            var reloaded = new UserStore(dir.FullName);
            Assert.IsNotNull(reloaded.Verify("root", "s3cret!"));
            Assert.IsNull(reloaded.Verify("root", "wrong"));
            Assert.IsNull(reloaded.Verify("nobody", "s3cret!"));
            var file = File.ReadAllText(Path.Combine(dir.FullName, "users.json"));
            Assert.DoesNotContain("s3cret!", file);
            if (!OperatingSystem.IsWindows())
            {
                Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir.FullName, "users.json")));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
