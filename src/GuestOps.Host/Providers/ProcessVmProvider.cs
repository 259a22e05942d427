using System.Diagnostics;

namespace GuestOps.Host.Providers;

/// <summary>
/// No isolation: the worker runs as a plain child process on this machine, against this machine's own accounts
/// and PAM. For machines without bubblewrap; the host agent logs a prominent warning when it is used.
/// </summary>
public sealed class ProcessVmProvider : IVmProvider
{
    public string Name => "process";

    public string Isolation => "NO ISOLATION: the worker is a plain process on this machine and acts on the real host's files, users and processes";

    public Process Start(VmLaunch launch)
    {
        var start = new ProcessStartInfo(launch.WorkerPath)
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--connect", "unix:" + Path.Combine(launch.ChannelDirectory, "channel.sock") }.Concat(launch.WorkerArguments).Concat(KerberosArguments(launch.Kerberos)))
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("The worker did not start.");
    }

    /// <summary>No guest image: the worker reads the host's keytab where it is.</summary>
    private static string[] KerberosArguments(GuestKerberos? kerberos) =>
        kerberos is null ? [] : ["--krb5-keytab", Path.GetFullPath(kerberos.Keytab), "--sspi-domain", kerberos.Realm];
}
