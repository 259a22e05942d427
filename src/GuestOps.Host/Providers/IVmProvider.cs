namespace GuestOps.Host.Providers;

/// <summary>A guest account of a simulated VM: created in the guest's own /etc at power-on.</summary>
public sealed record GuestAccount(string Name, string Password, int Uid);

/// <summary>Kerberos logons of a simulated VM (SSPI, Package Kerberos or Negotiate): <paramref name="Keytab"/>, a host
/// file with the guest's service keys (e.g. <c>host/NAME@REALM</c>), is copied into the guest at every power-on; users of
/// <paramref name="Realm"/> (<c>user@REALM</c>) map to the guest account <c>user</c>.</summary>
public sealed record GuestKerberos(string Keytab, string Realm);

/// <summary>Everything a provider needs to power on one VM and run its tools worker.</summary>
/// <param name="VmName">The VM's name: the guest's host name (and its NTLM domain).</param>
public sealed record VmLaunch(
    string VmName,
    IReadOnlyList<GuestAccount> Accounts,
    string VmDirectory,
    string ChannelDirectory,
    string WorkerPath,
    int Index,
    IReadOnlyList<string> WorkerArguments,
    GuestKerberos? Kerberos = null);

/// <summary>How the host agent "powers on" a VM: starts the guest and, inside it, the tools worker.</summary>
public interface IVmProvider
{
    /// <summary>Provider name as configured (<c>sandbox</c>, <c>process</c>).</summary>
    string Name { get; }

    /// <summary>One line on the isolation this provider really gives, logged at start.</summary>
    string Isolation { get; }

    /// <summary>Where that isolation stops short for this many VMs (VM indexes 0..count-1), logged as a warning; null if it does not.</summary>
    string? IsolationLimit(int vmCount) => null;

    /// <summary>The host path of the qemu-guest-agent socket of a guest whose only agent is qemu-ga (the host agent pushes
    /// the tools through it and runs them once per call); null when the guest runs the worker itself.</summary>
    string? AgentSocket(VmLaunch launch) => null;

    /// <summary>Starts the guest; the returned process is the guest's init (its exit is the VM's power-off).</summary>
    System.Diagnostics.Process Start(VmLaunch launch);
}
