using GuestOps.Tools.Native;

namespace GuestOps.Tools.Identity;

/// <summary>getpwnam_r / getpwuid_r / getgrouplist through glibc (so NSS modules apply).</summary>
public sealed unsafe class PosixUserDirectory : IUserDirectory
{
    public GuestUser? FindByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Contains('\0'))
        {
            return null;
        }

        var nameZ = LibC.Utf8Z(name);
        return Lookup((pwd, buf, len, result) =>
        {
            fixed (byte* n = nameZ)
            {
                return LibC.getpwnam_r(n, pwd, buf, len, result);
            }
        });
    }

    public GuestUser? FindByUid(uint uid) => Lookup((pwd, buf, len, result) => LibC.getpwuid_r(uid, pwd, buf, len, result));

    private delegate int PwLookup(LibC.Passwd* pwd, byte* buf, nuint len, LibC.Passwd** result);

    private static GuestUser? Lookup(PwLookup lookup)
    {
        var size = 1024;
        while (true)
        {
            var buffer = new byte[size];
            LibC.Passwd pwd;
            LibC.Passwd* result = null;
            int rc;
            fixed (byte* b = buffer)
            {
                rc = lookup(&pwd, b, (nuint)size, &result);
                if (rc == 0 && result is not null)
                {
                    var name = LibC.FromUtf8Z(pwd.Name) ?? "";
                    var home = LibC.FromUtf8Z(pwd.Dir) ?? "/";
                    var shell = LibC.FromUtf8Z(pwd.Shell);
                    return new GuestUser(name, pwd.Uid, pwd.Gid, GroupsOf(pwd.Name, pwd.Gid), home)
                    {
                        Shell = string.IsNullOrEmpty(shell) ? "/bin/sh" : shell,
                    };
                }
            }

            if (rc == LibC.ERANGE && size < 1 << 20)
            {
                size *= 4;
                continue;
            }

            if (rc is 0 or LibC.ENOENT)
            {
                return null; // no such user
            }

            throw new IOException($"User lookup failed (error {rc}).");
        }
    }

    private static uint[] GroupsOf(byte* user, uint primary)
    {
        var count = 32;
        while (true)
        {
            var groups = new uint[count];
            var n = count;
            int rc;
            fixed (uint* g = groups)
            {
                rc = LibC.getgrouplist(user, primary, g, &n);
            }

            if (rc >= 0)
            {
                return groups.AsSpan(0, n).ToArray();
            }

            if (n <= count || n > 65536)
            {
                return [primary];
            }

            count = n;
        }
    }
}
