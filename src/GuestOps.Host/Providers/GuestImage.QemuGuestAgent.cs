namespace GuestOps.Host.Providers;

// A simulated guest whose only agent is Debian's qemu-guest-agent (the qemu-ga provider's demo): no worker in its
// image; the host agent pushes the tools through qemu-ga.
public static partial class GuestImage
{
    /// <summary>qemu-ga's socket in the guest (its "virtio-serial port"): the guest's own /run, so the guest's root
    /// (an unprivileged host id with a user namespace) can create it.</summary>
    public const string QemuGuestAgentSocket = "/run/qemu-ga.sock";

    /// <summary>qemu-ga's state directory (-t) in the guest.</summary>
    public const string QemuGuestAgentStateDirectory = "/run/qemu-ga";

    /// <summary>The host path of <see cref="QemuGuestAgentSocket"/>.</summary>
    public static string QemuGuestAgentSocketOnHost(VmLaunch launch) => Path.Combine(launch.VmDirectory, QemuGuestAgentSocket.TrimStart('/'));

    /// <summary>Creates qemu-ga's state directory (guest root's) and removes a socket left by an earlier run.</summary>
    public static void PrepareQemuGuestAgent(VmLaunch launch, int hostIdOffset)
    {
        var state = Path.Combine(launch.VmDirectory, QemuGuestAgentStateDirectory.TrimStart('/'));
        Directory.CreateDirectory(state);
        File.SetUnixFileMode(state, (UnixFileMode)0b111_000_000);
        Chown(state, hostIdOffset, hostIdOffset);
        File.Delete(QemuGuestAgentSocketOnHost(launch));
    }
}
