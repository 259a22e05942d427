using GuestOps.Host;
using GuestOps.Host.Providers;

namespace GuestOps.Tests.Host;

/// <summary>The guest side of SSPI logons in a simulated guest's image: the NTLM user database of the configured accounts
/// (0600, only the worker reads it) under the guest's NetBIOS name, and the worker arguments that point at it.</summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestImageSspiTests
{
    private static VmLaunch Launch(string directory, string name, params GuestAccount[] accounts) => new(
        name, accounts, directory, directory, "/bin/true", 0, []);

    [TestMethod]
    public void Prepare_CopiesTheConfiguredKeytab_OnlyTheWorkerCanReadIt_AndRemovesItWhenUnset()
    {
        var directory = Directory.CreateTempSubdirectory("guestops-image-").FullName;
        var source = Path.Combine(Directory.CreateTempSubdirectory("guestops-keytab-").FullName, "host.keytab");
        try
        {
            File.WriteAllBytes(source, [0x05, 0x02, 1, 2, 3]);
            var kerberos = new GuestKerberos(source, "EXAMPLE.ORG");
            GuestImage.Prepare(Launch(directory, "demo-vm-1", new GuestAccount("demo", "Demo-Pa55", 1000)) with { Kerberos = kerberos }, 0);
            var keytab = Path.Combine(directory, "etc", "guestops-tools", "krb5.keytab");
            CollectionAssert.AreEqual(File.ReadAllBytes(source), File.ReadAllBytes(keytab));
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keytab));
            CollectionAssert.AreEqual(
                new[] { "--ntlm-user-file", GuestImage.NtlmUserFile, "--sspi-domain", "DEMO-VM-1", "--krb5-keytab", GuestImage.KerberosKeytab, "--sspi-domain", "EXAMPLE.ORG" },
                GuestImage.SspiWorkerArguments("demo-vm-1", kerberos).ToArray());

            // Power-on again without the setting: the guest has no keytab any more.
            GuestImage.Prepare(Launch(directory, "demo-vm-1", new GuestAccount("demo", "Demo-Pa55", 1000)), 0);
            Assert.IsFalse(File.Exists(keytab));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
            Directory.Delete(Path.GetDirectoryName(source)!, recursive: true);
        }
    }

    [TestMethod]
    public void Prepare_WritesTheNtlmUserDatabase_OnlyTheWorkerCanReadIt()
    {
        var directory = Directory.CreateTempSubdirectory("guestops-image-").FullName;
        try
        {
            GuestImage.Prepare(Launch(directory, "demo-vm-1",
                new GuestAccount("root", "r:oot", 0), new GuestAccount("demo", "Demo-Pa55", 1000), new GuestAccount("odd", "two\nlines", 1001)), 0);
            var file = Path.Combine(directory, "etc", "guestops-tools", "ntlm-users");
            CollectionAssert.AreEqual(new[] { "DEMO-VM-1:root:r:oot", "DEMO-VM-1:demo:Demo-Pa55" }, File.ReadAllLines(file),
                "one line per account under the NetBIOS name; a password with a line break cannot be written");
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
            if (Directory.Exists("/etc/gss/mech.d"))
            {
                foreach (var conf in Directory.EnumerateFiles("/etc/gss/mech.d", "*.conf"))
                {
                    Assert.AreEqual(File.ReadAllText(conf), File.ReadAllText(Path.Combine(directory, "etc", "gss", "mech.d", Path.GetFileName(conf))),
                        "the guest gets the host's GSSAPI mechanism registrations (it shares /usr)");
                }
            }

            // Power-on again: rewritten from the configuration.
            GuestImage.Prepare(Launch(directory, "demo-vm-1", new GuestAccount("demo", "New-Pa55", 1000)), 0);
            CollectionAssert.AreEqual(new[] { "DEMO-VM-1:demo:New-Pa55" }, File.ReadAllLines(file));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void NtlmDomain_IsTheNetBiosName_AndTheWorkerIsToldAboutIt()
    {
        const string name = "a-very-long-vm-name.example.org";
        Assert.AreEqual("A-VERY-LONG-VM-", GuestImage.NtlmDomain(name), "upper-cased first label, at most 15 characters");
        CollectionAssert.AreEqual(new[] { "--ntlm-user-file", GuestImage.NtlmUserFile, "--sspi-domain", "A-VERY-LONG-VM-" },
            GuestImage.SspiWorkerArguments(name).ToArray());
    }
}
