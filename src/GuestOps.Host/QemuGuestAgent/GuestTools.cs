using System.Security.Cryptography;
using System.Text;

namespace GuestOps.Host.QemuGuestAgent;

/// <summary>What the host agent found or did about the tools in a qemu-ga guest (guest.toolsVersionStatus / toolsRunningStatus).</summary>
public enum GuestToolsState
{
    /// <summary>No contact with the guest's qemu-ga yet.</summary>
    Unknown,

    /// <summary>The tools are not in the guest and cannot be pushed (a QGA command they need is blocked, or the push failed).</summary>
    NotInstalled,

    /// <summary>The guest's copy is this host's version (installed earlier, or pushed now).</summary>
    Current,
}

/// <summary>
/// The tools as the host agent pushes them into a guest that runs only qemu-guest-agent, the way VMware's InstallTools
/// does: the NativeAOT <c>guestops-tools</c> next to the server is copied with guest-file-write into a root-only
/// directory (<see cref="StateDirectory"/>, 0700), its SHA-256 is checked by the copy itself (<c>--install-self</c> hashes
/// its own file and refuses a mismatch) before it is moved into place, and from then on every guest operation is a
/// guest-exec of <c>guestops-tools --exec</c> with the request on stdin. On every (re)connect the guest's copy answers
/// <c>--self-check</c> with its SHA-256: a different one (an older or newer build) is replaced.
/// </summary>
public sealed class GuestTools
{
    /// <summary>The root-only directory in the guest: the binary, grants, program records, staging copies.</summary>
    public const string StateDirectory = "/var/lib/guestops-tools";

    /// <summary>QGA commands the tools need, in the order they are used; the first one the guest does not allow is named in faults.</summary>
    public static readonly string[] RequiredCommands =
        ["guest-exec", "guest-exec-status", "guest-file-open", "guest-file-write", "guest-file-read", "guest-file-close"];

    private const int PushChunk = 1024 * 1024;

    private GuestTools(string hostBinary, string sha256)
    {
        HostBinary = hostBinary;
        Sha256 = sha256;
    }

    /// <summary>The binary on the host that is pushed.</summary>
    public string HostBinary { get; }

    /// <summary>Its SHA-256 (lowercase hex): the version the guest must have.</summary>
    public string Sha256 { get; }

    public static string GuestBinary => StateDirectory + "/guestops-tools";

    public static GuestTools Load(string hostBinary)
    {
        using var file = File.OpenRead(hostBinary);
        return new GuestTools(hostBinary, Convert.ToHexStringLower(SHA256.HashData(file)));
    }

    /// <summary>The first command the tools need that the guest's qemu-ga does not allow, or null.</summary>
    public static string? FirstBlocked(QgaInfo info) => RequiredCommands.FirstOrDefault(c => !info.EnabledCommands.Contains(c));

    /// <summary>Makes sure the guest runs this version; returns the version line the guest's copy reports and whether it was pushed now.</summary>
    public async Task<(string Version, bool Pushed)> EnsureInstalledAsync(QgaConnection qga, PollClock clock, CancellationToken cancellationToken)
    {
        var installed = await SelfCheckAsync(qga, clock, GuestBinary, cancellationToken).ConfigureAwait(false);
        if (installed is not null && installed.StartsWith(Sha256 + " ", StringComparison.Ordinal))
        {
            return (installed[(Sha256.Length + 1)..], false);
        }

        await CheckedAsync(qga, clock, "/bin/mkdir", ["-p", "-m", "0700", StateDirectory], cancellationToken).ConfigureAwait(false);
        await CheckedAsync(qga, clock, "/bin/chmod", ["0700", StateDirectory], cancellationToken).ConfigureAwait(false);
        var incoming = $"{StateDirectory}/guestops-tools.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.new";
        var handle = await qga.FileOpenAsync(incoming, "w", cancellationToken).ConfigureAwait(false);
        try
        {
            await using var binary = File.OpenRead(HostBinary);
            var buffer = new byte[PushChunk];
            int n;
            while ((n = await binary.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await WriteAllAsync(qga, handle, buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await qga.FileCloseAsync(handle, cancellationToken).ConfigureAwait(false);
        }

        await CheckedAsync(qga, clock, "/bin/chmod", ["0700", incoming], cancellationToken).ConfigureAwait(false);
        var result = await CheckedAsync(qga, clock, incoming, ["--install-self", "--state-dir", StateDirectory, "--sha256", Sha256], cancellationToken).ConfigureAwait(false);
        var line = Encoding.UTF8.GetString(result.Output).Trim();
        return line.StartsWith(Sha256 + " ", StringComparison.Ordinal)
            ? (line[(Sha256.Length + 1)..], true)
            : throw new InvalidOperationException($"The pushed tools did not confirm their checksum: '{line}'.");
    }

    /// <summary>Writes a whole chunk with guest-file-write (which may write less than asked).</summary>
    public static async Task WriteAllAsync(QgaConnection qga, long handle, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var written = await qga.FileWriteAsync(handle, data, cancellationToken).ConfigureAwait(false);
            if (written <= 0)
            {
                throw new IOException("qemu-guest-agent wrote nothing.");
            }

            data = data[written..];
        }
    }

    /// <summary>The <c>--self-check</c> line of the guest's copy, or null when there is none (or it does not run).</summary>
    private static async Task<string?> SelfCheckAsync(QgaConnection qga, PollClock clock, string binary, CancellationToken cancellationToken)
    {
        try
        {
            var status = await GuestExec.RunAsync(qga, clock, binary, ["--self-check"], default, cancellationToken).ConfigureAwait(false);
            return status.ExitCode == 0 ? Encoding.UTF8.GetString(status.Output).Trim() : null;
        }
        catch (QgaCommandException)
        {
            return null; // "Failed to execute child process ... (No such file or directory)"
        }
    }

    private static async Task<QgaExecStatus> CheckedAsync(QgaConnection qga, PollClock clock, string path, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var status = await GuestExec.RunAsync(qga, clock, path, arguments, default, cancellationToken).ConfigureAwait(false);
        return status.ExitCode == 0
            ? status
            : throw new InvalidOperationException($"{path} {string.Join(' ', arguments)} failed in the guest: {GuestExec.Describe(status)}.");
    }
}
