using System.Buffers.Binary;
using System.Runtime.InteropServices;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;
using GuestOps.Tools.State;

namespace GuestOps.Tools.OneShot;

/// <summary>
/// <c>--resident --token HEX</c>: the pushed tools kept running in the guest, so that a call costs no process start.
/// The host starts it once with guest-exec and reaches it through two named pipes in the tools' root-only directory,
/// which it opens with qemu-ga's guest-file-open in mode <c>r+</c> (opening a pipe read-write never waits for the other
/// end; qemu-ga makes the descriptor non-blocking) and drives with guest-file-write + guest-file-flush and
/// guest-file-read:
/// <list type="bullet">
/// <item><c>resident/TOKEN.in</c>, host to tools: frames <c>[length u32][id u32][ChannelRequest JSON]</c> (big endian;
/// the length counts the bytes after it).</item>
/// <item><c>resident/TOKEN.out</c>, tools to host: frames <c>[length u32][id u32][last u8][a part of the ChannelResponse
/// JSON]</c>. A guest-file-read of more bytes than the pipe holds fails and loses what it had read, so the host reads a
/// header, then exactly the length it names. That is safe because every frame is in the pipe whole or not at all: each
/// is one write(2), no larger than the pipe, into an empty pipe (FIONREAD 0), which the kernel copies under the pipe's
/// lock.</item>
/// </list>
/// Every request is handled as <c>--exec</c> handles it (the guest's PAM on every call, the work done as the user),
/// several at a time, except that this process starts programs itself and stays their parent
/// (<see cref="ProgramSupervisor"/>) instead of starting a <c>--supervise</c> process for each, and it keeps what a call
/// needs across calls (<see cref="OneShotServices"/>: the PAM stack loaded, the login throttle, the impersonation threads,
/// and the credential cache when the host asks for one: <c>--credential-cache-ttl</c>, GuestCredentialCacheSeconds), as
/// the long-running worker does. The pipes are made under temporary names and opened by this process before they get their
/// names, so whenever the host finds them, they have a reader and a writer. <c>resident/current</c> names the newest
/// resident's token: an older one that sees another token there exits, and a new one removes the pipes of older ones.
/// </summary>
internal static partial class ResidentMode
{
    /// <summary>Largest request the host sends through the pipe (larger ones go through <c>--exec</c>).</summary>
    public const int MaxRequestBytes = 60 * 1024;

    private const int PipeSize = 1 << 20;

    /// <summary>Requests that act as guest users at once (the long-running worker's default).</summary>
    private const int UserThreads = 4;
    private const int ResponseHeader = 9;
    private const int F_SETPIPE_SZ = 1031;
    private const int F_GETPIPE_SZ = 1032;
    private const uint FIONREAD = 0x541B;
    private static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(OneShotCommands.Options options)
    {
        if (options.Token is not { Length: 32 } token || !token.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
        {
            Console.Error.WriteLine("guestops-tools: --resident needs --token with 32 lowercase hex digits");
            return 2;
        }

        _ = LibC.setsid();
        var state = new ToolsStateDirectory(options.StateDirectory).Ensure();
        var inPath = Path.Combine(state.Resident, token + ".in");
        var outPath = Path.Combine(state.Resident, token + ".out");
        var output = OpenFifo(outPath);
        var input = OpenFifo(inPath); // named last: when the host finds it, both are there
        var current = Path.Combine(state.Resident, "current");
        using (var file = ToolsStateDirectory.CreateRootOnlyFile(current + "." + token, FileMode.Create))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(token));
        }

        File.Move(current + "." + token, current, overwrite: true);
        RemoveOthers(state.Resident, token);

        // Nothing of qemu-ga's capture stays open: its guest-exec-status of this process says only whether it runs.
        OneShotCommands.RedirectToNull(0);
        OneShotCommands.RedirectToNull(1);
        OneShotCommands.RedirectToNull(2);

        var capacity = fcntl(output, F_GETPIPE_SZ, 0);
        var writer = new ResponseWriter(output, Math.Min(capacity > 0 ? capacity : 64 * 1024, PipeSize));
        var requests = options with { Staging = null };
        using var supervisor = new ProgramSupervisor(state);
        var cache = options.CredentialCacheSeconds > 0 ? new CredentialCache(TimeSpan.FromSeconds(options.CredentialCacheSeconds), TimeProvider.System) : null;
        using var services = new OneShotServices(requests, cache, UserThreads, supervisor);
        var reading = Task.Factory.StartNew(() => ReadRequests(input, services, writer), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        while (!reading.IsCompleted)
        {
            await Task.WhenAny(reading, Task.Delay(WatchInterval)).ConfigureAwait(false);
            if (!IsCurrent(current, token))
            {
                break;
            }
        }

        File.Delete(inPath);
        File.Delete(outPath);

        // Replaced or cut off: the programs started here still need their parent to record how they end.
        await supervisor.WaitForAllAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>Makes a pipe under a temporary name, opens it read-write (0600, root-only directory) with a 1 MiB buffer,
    /// and gives it its name.</summary>
    private static int OpenFifo(string path)
    {
        var temporary = path + ".new";
        File.Delete(temporary);
        if (mkfifo(LibC.Utf8Z(temporary), 0x180) != 0)
        {
            throw GuestOperationException.FromErrno(Marshal.GetLastPInvokeError(), temporary, "Cannot make the resident tools' pipe");
        }

        var rc = PosixIo.OpenAt(LibC.AT_FDCWD, LibC.Utf8Z(temporary), LibC.O_RDWR | LibC.O_NOFOLLOW, 0, out var fd);
        if (rc != 0)
        {
            throw GuestOperationException.FromErrno(rc, temporary, "Cannot open the resident tools' pipe");
        }

        _ = fcntl(fd, F_SETPIPE_SZ, PipeSize); // a smaller pipe (an unprivileged limit) only means smaller frames
        File.Move(temporary, path, overwrite: true);
        return fd;
    }

    private static void RemoveOthers(string directory, string token)
    {
        foreach (var entry in System.IO.Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(entry);
            if (name != "current" && !name.StartsWith(token, StringComparison.Ordinal))
            {
                File.Delete(entry);
            }
        }
    }

    private static bool IsCurrent(string current, string token)
    {
        try
        {
            return File.ReadAllText(current) == token;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Reads request frames (blocking) until the pipe fails or a frame is out of step; each is served on its own.</summary>
    private static void ReadRequests(int input, OneShotServices services, ResponseWriter writer)
    {
        var header = new byte[8];
        while (ReadExactly(input, header))
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(header);
            var id = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            if (length < 4 || length - 4 > MaxRequestBytes)
            {
                return; // not a frame: the host starts another resident
            }

            var body = new byte[length - 4];
            if (!ReadExactly(input, body))
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(id, body, services, writer));
        }
    }

    private static async Task ServeAsync(uint id, byte[] body, OneShotServices services, ResponseWriter writer)
    {
        ChannelResponse response;
        if (ChannelMessageJson.DeserializeRequest(body) is not { } request)
        {
            response = ChannelResponse.Failure(GuestErrorCode.InvalidArgument, "The resident tools' input is not a channel request.");
        }
        else if (request is UploadRequest or DownloadRequest)
        {
            response = ChannelResponse.Failure(GuestErrorCode.InvalidArgument, "Transfers run through --exec with a staging file.");
        }
        else
        {
            try
            {
                response = await OneShotCommands.HandleAsync(request, services).ConfigureAwait(false);
            }
            catch (GuestOperationException e)
            {
                response = ChannelResponse.Failure(e.ToError());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                response = ChannelResponse.Failure(GuestErrorCode.InternalError, "The resident tools failed: " + e.Message);
            }
        }

        await writer.SendAsync(id, ChannelMessageJson.SerializeResponse(response)).ConfigureAwait(false);
    }

    private static bool ReadExactly(int fd, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = PosixIo.Read(fd, buffer);
            if (n <= 0)
            {
                return false;
            }

            buffer = buffer[(int)n..];
        }

        return true;
    }

    /// <summary>Writes responses one frame at a time, each whole into an empty pipe.</summary>
    private sealed class ResponseWriter(int fd, int capacity)
    {
        private readonly SemaphoreSlim _gate = new(1, 1);

        public async Task SendAsync(uint id, byte[] payload)
        {
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                var offset = 0;
                do
                {
                    var n = Math.Min(capacity - ResponseHeader, payload.Length - offset);
                    var frame = new byte[ResponseHeader + n];
                    BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(n + 5));
                    BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), id);
                    offset += n;
                    frame[8] = offset == payload.Length ? (byte)1 : (byte)0;
                    payload.AsSpan(offset - n, n).CopyTo(frame.AsSpan(ResponseHeader));
                    while (Unread(fd) > 0)
                    {
                        await Task.Delay(1).ConfigureAwait(false);
                    }

                    if (PosixIo.WriteAll(fd, frame) is var rc and not 0)
                    {
                        throw new IOException($"The resident tools' pipe failed (errno {rc}).");
                    }
                }
                while (offset < payload.Length);
            }
            finally
            {
                _gate.Release();
            }
        }

        private static unsafe int Unread(int fd)
        {
            int count;
            return ioctl(fd, FIONREAD, &count) == 0 ? count : 0;
        }
    }

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int mkfifo(byte[] path, uint mode);

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static unsafe partial int ioctl(int fd, uint request, int* argument);
}
