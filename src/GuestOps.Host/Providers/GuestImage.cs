using System.Text;

namespace GuestOps.Host.Providers;

/// <summary>
/// The writable part of a simulated guest, under the VM's directory: /etc (generated accounts, PAM, host name),
/// /home, /root, /tmp, /var. Kept across power cycles; the account files are rewritten from the configuration
/// at every power-on so the configuration stays authoritative.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static partial class GuestImage
{
    public static readonly string[] WritableDirectories = ["etc", "home", "root", "tmp", "var", "run"];

    /// <summary>The PAM service the worker authenticates with (must match the worker's --pam-service).</summary>
    public const string PamService = "guestops-tools";

    /// <summary>Creates or refreshes the guest's files. <paramref name="hostIdOffset"/> is what guest uid 0 is on the
    /// host (0 without a user namespace): files are owned as the guest will see them, also when the offset changed
    /// since the last power-on (<see cref="RepairIdMapping"/>).</summary>
    public static void Prepare(VmLaunch launch, int hostIdOffset)
    {
        var root = launch.VmDirectory;
        Directory.CreateDirectory(root);
        RepairIdMapping(root, hostIdOffset);
        foreach (var dir in WritableDirectories)
        {
            Directory.CreateDirectory(Path.Combine(root, dir));
        }

        Directory.CreateDirectory(Path.Combine(root, "etc", "pam.d"));
        Directory.CreateDirectory(Path.Combine(root, "var", "tmp"));
        Directory.CreateDirectory(Path.Combine(root, "var", "log"));
        var etc = Path.Combine(root, "etc");
        var passwd = new StringBuilder("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        var shadow = new StringBuilder();
        var group = new StringBuilder("root:x:0:\nusers:x:100:\nnogroup:x:65534:\n");
        foreach (var account in launch.Accounts)
        {
            var hash = Crypt.Sha512(account.Password);
            if (account.Name == "root")
            {
                shadow.Insert(0, $"root:{hash}:19000:0:99999:7:::\n");
                continue;
            }

            passwd.Append($"{account.Name}:x:{account.Uid}:{account.Uid}:{account.Name}:/home/{account.Name}:/bin/bash\n");
            shadow.Append($"{account.Name}:{hash}:19000:0:99999:7:::\n");
            group.Append($"{account.Name}:x:{account.Uid}:\n");
        }

        if (!launch.Accounts.Any(a => a.Name == "root"))
        {
            shadow.Insert(0, "root:*:19000:0:99999:7:::\n"); // locked
        }

        Write(etc, "passwd", passwd.ToString(), 0b110_100_100);
        Write(etc, "group", group.ToString(), 0b110_100_100);
        Write(etc, "shadow", shadow.ToString(), 0b110_000_000);
        Write(etc, "hostname", launch.VmName + "\n", 0b110_100_100);
        Write(etc, "hosts", $"127.0.0.1 localhost\n127.0.1.1 {launch.VmName}\n", 0b110_100_100);
        Write(etc, "nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files\n", 0b110_100_100);
        Write(etc, "shells", "/bin/sh\n/bin/bash\n/usr/bin/bash\n", 0b110_100_100);
        Write(etc, "pam.d/" + PamService, "auth required pam_unix.so\naccount required pam_unix.so\nsession required pam_permit.so\n", 0b110_100_100);
        Write(etc, "pam.d/other", "auth required pam_deny.so\naccount required pam_deny.so\n", 0b110_100_100);

        Chown(root, hostIdOffset, hostIdOffset);
        foreach (var dir in WritableDirectories)
        {
            Chown(Path.Combine(root, dir), hostIdOffset, hostIdOffset);
        }

        File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)0b1_111_111_111);
        File.SetUnixFileMode(Path.Combine(root, "var", "tmp"), (UnixFileMode)0b1_111_111_111);
        File.SetUnixFileMode(Path.Combine(root, "root"), (UnixFileMode)0b111_000_000);
        foreach (var file in new[] { "passwd", "group", "shadow", "hostname", "hosts", "nsswitch.conf", "shells", "pam.d", "pam.d/" + PamService, "pam.d/other" })
        {
            Chown(Path.Combine(etc, file), hostIdOffset, hostIdOffset);
        }

        PrepareSspi(launch, hostIdOffset);
        foreach (var account in launch.Accounts.Where(a => a.Name != "root"))
        {
            var home = Path.Combine(root, "home", account.Name);
            if (!Directory.Exists(home))
            {
                Directory.CreateDirectory(home);
                File.SetUnixFileMode(home, (UnixFileMode)0b111_000_000);
                Chown(home, hostIdOffset + account.Uid, hostIdOffset + account.Uid);
            }
        }
    }

    private static void Write(string dir, string name, string content, int mode)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
    }

    private static void Chown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
        {
            throw new IOException($"Cannot change the owner of {path} to {uid}:{gid} (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int lchown(string path, int owner, int group);
}
