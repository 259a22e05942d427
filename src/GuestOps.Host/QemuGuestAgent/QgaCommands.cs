using System.Text.Json;

namespace GuestOps.Host.QemuGuestAgent;

/// <summary>What guest-info reports: the agent's version and the commands it allows (--block-rpcs / --allow-rpcs).</summary>
public sealed record QgaInfo(string Version, IReadOnlySet<string> EnabledCommands);

/// <summary>The state of a guest-exec'd process (guest-exec-status).</summary>
public sealed record QgaExecStatus(bool Exited, int? ExitCode, int? Signal, byte[] Output, byte[] Error, bool OutputTruncated);

/// <summary>What guest-get-osinfo, guest-get-host-name and guest-network-get-interfaces report.</summary>
public sealed record QgaGuestFacts(string HostName, IReadOnlyList<string> IpAddresses, string OsName, string KernelRelease, string Machine);

/// <summary>The QGA commands the host agent uses (QAPI schema qga/qapi-schema.json), typed.</summary>
public static class QgaCommands
{
    /// <summary>Deadline of a short command.</summary>
    public static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Deadline of a file chunk (a few MiB of base64 each way).</summary>
    public static readonly TimeSpan ChunkTimeout = TimeSpan.FromSeconds(60);

    public static async Task PingAsync(this QgaConnection qga, CancellationToken cancellationToken)
    {
        using var _ = await qga.ExecuteAsync("guest-ping", null, ShortTimeout, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<QgaInfo> InfoAsync(this QgaConnection qga, CancellationToken cancellationToken)
    {
        using var document = await qga.ExecuteAsync("guest-info", null, ShortTimeout, cancellationToken).ConfigureAwait(false);
        var result = QgaConnection.Return(document);
        var enabled = new HashSet<string>(StringComparer.Ordinal);
        if (result.TryGetProperty("supported_commands", out var commands) && commands.ValueKind == JsonValueKind.Array)
        {
            foreach (var command in commands.EnumerateArray())
            {
                if (command.TryGetProperty("name", out var name) && name.GetString() is { } n
                    && (!command.TryGetProperty("enabled", out var on) || on.ValueKind != JsonValueKind.False))
                {
                    enabled.Add(n);
                }
            }
        }

        return new QgaInfo(result.TryGetProperty("version", out var version) ? version.GetString() ?? "" : "", enabled);
    }

    /// <summary>Host name, addresses and OS; each part that the guest refuses (blocked, unsupported) stays empty.</summary>
    public static async Task<QgaGuestFacts> FactsAsync(this QgaConnection qga, QgaInfo info, CancellationToken cancellationToken)
    {
        string hostName = "", osName = "", kernel = "", machine = "";
        List<string> addresses = [];
        if (info.EnabledCommands.Contains("guest-get-host-name"))
        {
            using var document = await TryAsync(qga, "guest-get-host-name", cancellationToken).ConfigureAwait(false);
            if (document is not null && QgaConnection.Return(document).TryGetProperty("host-name", out var name))
            {
                hostName = name.GetString() ?? "";
            }
        }

        if (info.EnabledCommands.Contains("guest-get-osinfo"))
        {
            using var document = await TryAsync(qga, "guest-get-osinfo", cancellationToken).ConfigureAwait(false);
            if (document is not null)
            {
                var os = QgaConnection.Return(document);
                osName = String(os, "pretty-name") ?? String(os, "name") ?? "";
                kernel = String(os, "kernel-release") ?? "";
                machine = String(os, "machine") ?? "";
            }
        }

        if (info.EnabledCommands.Contains("guest-network-get-interfaces"))
        {
            using var document = await TryAsync(qga, "guest-network-get-interfaces", cancellationToken).ConfigureAwait(false);
            if (document is not null && QgaConnection.Return(document) is { ValueKind: JsonValueKind.Array } interfaces)
            {
                var v4 = new List<string>();
                var v6 = new List<string>();
                foreach (var nic in interfaces.EnumerateArray())
                {
                    if (!nic.TryGetProperty("ip-addresses", out var ips) || ips.ValueKind != JsonValueKind.Array)
                    {
                        continue;
                    }

                    foreach (var ip in ips.EnumerateArray())
                    {
                        if (String(ip, "ip-address") is not { } address || !System.Net.IPAddress.TryParse(address, out var parsed)
                            || System.Net.IPAddress.IsLoopback(parsed) || parsed.IsIPv6LinkLocal)
                        {
                            continue;
                        }

                        (parsed.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? v4 : v6).Add(address);
                    }
                }

                addresses = [.. v4, .. v6];
            }
        }

        return new QgaGuestFacts(hostName, addresses, osName, kernel, machine);
    }

    /// <summary>guest-exec: starts <paramref name="path"/> with <paramref name="arguments"/>, its stdin fed from
    /// <paramref name="input"/> (then closed), its output captured. Returns the guest pid.</summary>
    public static async Task<long> ExecAsync(this QgaConnection qga, string path, IReadOnlyList<string> arguments, ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        using var document = await qga.ExecuteAsync("guest-exec", w =>
        {
            w.WriteString("path", path);
            w.WriteStartArray("arg");
            foreach (var argument in arguments)
            {
                w.WriteStringValue(argument);
            }

            w.WriteEndArray();
            if (!input.IsEmpty)
            {
                w.WriteBase64String("input-data", input.Span);
            }

            w.WriteBoolean("capture-output", true);
        }, ShortTimeout, cancellationToken).ConfigureAwait(false);
        return QgaConnection.Return(document).GetProperty("pid").GetInt64();
    }

    public static async Task<QgaExecStatus> ExecStatusAsync(this QgaConnection qga, long pid, CancellationToken cancellationToken)
    {
        using var document = await qga.ExecuteAsync("guest-exec-status", w => w.WriteNumber("pid", pid), ShortTimeout, cancellationToken).ConfigureAwait(false);
        var status = QgaConnection.Return(document);
        return new QgaExecStatus(
            status.GetProperty("exited").GetBoolean(),
            status.TryGetProperty("exitcode", out var code) ? code.GetInt32() : null,
            status.TryGetProperty("signal", out var signal) ? signal.GetInt32() : null,
            status.TryGetProperty("out-data", out var output) ? output.GetBytesFromBase64() : [],
            status.TryGetProperty("err-data", out var error) ? error.GetBytesFromBase64() : [],
            status.TryGetProperty("out-truncated", out var truncated) && truncated.ValueKind == JsonValueKind.True);
    }

    public static async Task<long> FileOpenAsync(this QgaConnection qga, string path, string mode, CancellationToken cancellationToken)
    {
        using var document = await qga.ExecuteAsync("guest-file-open", w =>
        {
            w.WriteString("path", path);
            w.WriteString("mode", mode);
        }, ShortTimeout, cancellationToken).ConfigureAwait(false);
        return QgaConnection.Return(document).GetInt64();
    }

    /// <summary>guest-file-write of one chunk; returns the bytes the guest wrote.</summary>
    public static async Task<int> FileWriteAsync(this QgaConnection qga, long handle, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        using var document = await qga.ExecuteAsync("guest-file-write", w =>
        {
            w.WriteNumber("handle", handle);
            w.WriteBase64String("buf-b64", data.Span);
        }, ChunkTimeout, cancellationToken).ConfigureAwait(false);
        return QgaConnection.Return(document).GetProperty("count").GetInt32();
    }

    /// <summary>guest-file-write then guest-file-flush in one round trip (see <see cref="FileFlushAsync"/>): the bytes are
    /// in the file (or pipe) when this returns; returns the count written.</summary>
    public static async Task<int> FileWriteFlushedAsync(this QgaConnection qga, long handle, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var (write, flush) = await qga.ExecuteBothAsync("guest-file-write", w =>
        {
            w.WriteNumber("handle", handle);
            w.WriteBase64String("buf-b64", data.Span);
        }, "guest-file-flush", w => w.WriteNumber("handle", handle), ChunkTimeout, cancellationToken).ConfigureAwait(false);
        using (write)
        using (flush)
        {
            return QgaConnection.Return(write).GetProperty("count").GetInt32();
        }
    }

    /// <summary>guest-file-read of up to <paramref name="count"/> bytes; returns them and whether the file ended.</summary>
    public static async Task<(byte[] Data, bool Eof)> FileReadAsync(this QgaConnection qga, long handle, int count, CancellationToken cancellationToken)
    {
        using var document = await qga.ExecuteAsync("guest-file-read", w =>
        {
            w.WriteNumber("handle", handle);
            w.WriteNumber("count", count);
        }, ChunkTimeout, cancellationToken).ConfigureAwait(false);
        var result = QgaConnection.Return(document);
        // No buf-b64 when nothing was read.
        var data = result.TryGetProperty("buf-b64", out var buffer) ? buffer.GetBytesFromBase64() : [];
        return (data, result.TryGetProperty("eof", out var eof) && eof.GetBoolean());
    }

    /// <summary>guest-file-flush: qemu-ga's writes go through a stdio buffer until this (or close).</summary>
    public static async Task FileFlushAsync(this QgaConnection qga, long handle, CancellationToken cancellationToken)
    {
        using var _ = await qga.ExecuteAsync("guest-file-flush", w => w.WriteNumber("handle", handle), ShortTimeout, cancellationToken).ConfigureAwait(false);
    }

    public static async Task FileCloseAsync(this QgaConnection qga, long handle, CancellationToken cancellationToken)
    {
        using var _ = await qga.ExecuteAsync("guest-file-close", w => w.WriteNumber("handle", handle), ShortTimeout, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<JsonDocument?> TryAsync(QgaConnection qga, string command, CancellationToken cancellationToken)
    {
        try
        {
            return await qga.ExecuteAsync(command, null, ShortTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (QgaCommandException)
        {
            return null;
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
