using System.Text;

namespace GuestOps.Host.Providers;

// The guest side of SSPI logons in a simulated guest: what a Windows machine's local account database and a Linux
// machine's gss-ntlmssp setup give a real one.
public static partial class GuestImage
{
    /// <summary>gss-ntlmssp's user database in the guest (<c>DOMAIN:user:password</c> lines), 0600 guest root: only the
    /// worker reads it. Regenerated from the configured accounts at every power-on.</summary>
    public const string NtlmUserFile = "/etc/guestops-tools/ntlm-users";

    /// <summary>The guest's Kerberos keytab when the VM has one configured (<see cref="GuestKerberos"/>): a copy of the
    /// host file, 0600 guest root, rewritten at every power-on and removed when the setting is.</summary>
    public const string KerberosKeytab = "/etc/guestops-tools/krb5.keytab";

    /// <summary>The guest's NTLM domain: its NetBIOS computer name, the VM name upper-cased, at most 15 characters (as a
    /// Windows machine's local accounts are <c>COMPUTER\user</c>).</summary>
    public static string NtlmDomain(string vmName)
    {
        var name = vmName.Split('.')[0].ToUpperInvariant();
        return name.Length > 15 ? name[..15] : name;
    }

    /// <summary>The worker arguments that turn SSPI logons on for this guest: NTLM always, Kerberos with a keytab.</summary>
    public static IReadOnlyList<string> SspiWorkerArguments(string vmName, GuestKerberos? kerberos = null) =>
        kerberos is null
            ? ["--ntlm-user-file", NtlmUserFile, "--sspi-domain", NtlmDomain(vmName)]
            : ["--ntlm-user-file", NtlmUserFile, "--sspi-domain", NtlmDomain(vmName), "--krb5-keytab", KerberosKeytab, "--sspi-domain", kerberos.Realm];

    /// <summary>Writes the NTLM user database of the configured accounts and the GSSAPI mechanism registrations (the guest
    /// shares the host's /usr, so it has the host's GSSAPI plugins; their registrations live in /etc, which is the
    /// guest's own).</summary>
    private static void PrepareSspi(VmLaunch launch, int hostIdOffset, string hostGssDirectory = "/etc/gss")
    {
        var etc = Path.Combine(launch.VmDirectory, "etc");
        var tools = Path.Combine(etc, "guestops-tools");
        Directory.CreateDirectory(tools);
        File.SetUnixFileMode(tools, (UnixFileMode)0b111_000_000);
        Chown(tools, hostIdOffset, hostIdOffset);

        var domain = NtlmDomain(launch.VmName);
        var users = new StringBuilder();
        foreach (var account in launch.Accounts)
        {
            // The format cannot carry a ':' in the domain or name, nor a line break anywhere: such accounts get no NTLM logon.
            if (account.Name.Contains(':') || account.Name.Contains('\n') || account.Password.Contains('\n') || account.Password.Contains('\r'))
            {
                continue;
            }

            users.Append(domain).Append(':').Append(account.Name).Append(':').Append(account.Password).Append('\n');
        }

        var file = Path.Combine(etc, NtlmUserFile["/etc/".Length..]);
        using (var stream = new FileStream(file, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = (UnixFileMode)0b110_000_000,
        }))
        {
            stream.Write(Encoding.UTF8.GetBytes(users.ToString()));
        }

        File.SetUnixFileMode(file, (UnixFileMode)0b110_000_000);
        Chown(file, hostIdOffset, hostIdOffset);

        var keytab = Path.Combine(etc, KerberosKeytab["/etc/".Length..]);
        if (launch.Kerberos is { } kerberos)
        {
            File.Copy(kerberos.Keytab, keytab, overwrite: true);
            File.SetUnixFileMode(keytab, (UnixFileMode)0b110_000_000);
            Chown(keytab, hostIdOffset, hostIdOffset);
        }
        else
        {
            File.Delete(keytab);
        }

        var mechs = Path.Combine(hostGssDirectory, "mech.d");
        if (Directory.Exists(mechs))
        {
            var guestMechs = Path.Combine(etc, "gss", "mech.d");
            Directory.CreateDirectory(guestMechs);
            Chown(Path.Combine(etc, "gss"), hostIdOffset, hostIdOffset);
            Chown(guestMechs, hostIdOffset, hostIdOffset);
            foreach (var conf in Directory.EnumerateFiles(mechs, "*.conf"))
            {
                var target = Path.Combine(guestMechs, Path.GetFileName(conf));
                File.Copy(conf, target, overwrite: true);
                File.SetUnixFileMode(target, (UnixFileMode)0b110_100_100);
                Chown(target, hostIdOffset, hostIdOffset);
            }
        }
    }
}
