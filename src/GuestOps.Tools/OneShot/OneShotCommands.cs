using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Files;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Logging;
using GuestOps.Tools.Native;
using GuestOps.Tools.Processes;
using Microsoft.Extensions.Logging;
using GuestOps.Tools.Errors;
using GuestOps.Tools.State;

namespace GuestOps.Tools.OneShot;

/// <summary>
/// The worker's modes for guests whose only agent is qemu-guest-agent: the host pushes this binary in with
/// guest-file-write and runs it once per call with guest-exec.
/// <list type="bullet">
/// <item><c>--exec [--state-dir DIR] [--pam-service NAME] [--staging NAME]</c>: reads one channel request (JSON) from
/// stdin, authenticates it with the guest's PAM, performs it as the user exactly as the long-running worker does, and
/// writes the channel response (JSON) to stdout. Transfers move through <c>DIR/staging/NAME</c>: an upload's bytes,
/// written there by the host as root in a root-only directory, are copied into place as the user; a download's file is
/// opened as the user and copied there for the host to read.</item>
/// <item><c>--resident --token HEX [--state-dir DIR] [--pam-service NAME] [--credential-cache-ttl SEC]</c>: the same requests as <c>--exec</c>, served
/// by one process that stays, over a pair of named pipes the host reaches through qemu-ga's guest-file-read/-write
/// (<see cref="ResidentMode"/>).</item>
/// <item><c>--supervise --state-dir DIR --user NAME</c> (started by <c>--exec</c>, never by hand): starts one program
/// as the user, answers its pid, then stays as its parent, detached in its own session, to record its exit code.</item>
/// <item><c>--self-check</c>: prints the SHA-256 of this binary and its version (the host compares it to its own copy).</item>
/// <item><c>--install-self --state-dir DIR --sha256 HEX</c>: checks this binary's SHA-256 and moves it to
/// <c>DIR/guestops-tools</c>, creating the state directories.</item>
/// <item><c>--discard-staging NAME [--state-dir DIR]</c>: removes a staging file the host has read.</item>
/// </list>
/// </summary>
internal static class OneShotCommands
{
    public const string BinaryName = "guestops-tools";

    private const int MaxRequestBytes = 16 * 1024 * 1024;

    public static bool Handles(string first) => first is "--exec" or "--resident" or "--supervise" or "--self-check" or "--install-self" or "--discard-staging";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine("guestops-tools: bad arguments for " + args[0]);
            return 2;
        }

        try
        {
            return args[0] switch
            {
                "--exec" => await ExecAsync(options).ConfigureAwait(false),
                "--resident" => await ResidentMode.RunAsync(options).ConfigureAwait(false),
                "--supervise" => await SuperviseAsync(options).ConfigureAwait(false),
                "--self-check" => SelfCheck(),
                "--install-self" => InstallSelf(options),
                _ => Discard(options),
            };
        }
        catch (GuestOperationException e)
        {
            Console.Error.WriteLine("guestops-tools: " + e.Message);
            return 1;
        }
    }

    public static string Version => typeof(OneShotCommands).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    // ---------------------------------------------------------------- --exec

    private static async Task<int> ExecAsync(Options options)
    {
        var input = ReadAll(Console.OpenStandardInput(), MaxRequestBytes);
        var request = input is null ? null : ChannelMessageJson.DeserializeRequest(input);
        ChannelResponse response;
        if (request is null)
        {
            response = ChannelResponse.Failure(GuestErrorCode.InvalidArgument, "The one-shot worker's input is not a channel request.");
        }
        else
        {
            try
            {
                using var services = new OneShotServices(options, cache: null, userThreads: 1);
                response = await HandleAsync(request, services).ConfigureAwait(false);
            }
            catch (GuestOperationException e)
            {
                response = ChannelResponse.Failure(e.ToError());
            }
        }

        using var stdout = Console.OpenStandardOutput();
        stdout.Write(ChannelMessageJson.SerializeResponse(response));
        return 0;
    }

    /// <summary>Handles one request as <c>--exec</c> does with what <paramref name="services"/> keeps for the process;
    /// programs are started through <see cref="OneShotServices.Supervisor"/> when there is one (the resident tools), else
    /// through a <c>--supervise</c> process. The records of started programs and of transfer grants are read again by
    /// each request that uses them: other runs of the tools write them.</summary>
    internal static async Task<ChannelResponse> HandleAsync(ChannelRequest request, OneShotServices services)
    {
        var time = TimeProvider.System;
        var (state, users, auth, impersonator, supervisor) = (services.State, services.Users, services.Authentication, services.Impersonator, services.Supervisor);
        using var programs = StartedPrograms.FromRecords(services.ProgramRecords, time, supervisor is null ? null : supervisor.Reap);
        if (request is TerminateProcessRequest)
        {
            // Read here, as root: the termination looks at them again on the user's thread, which cannot read them.
            // ListProcessesInGuest reads them itself after the credential check; no other call uses them.
            programs.Reap();
        }
        var handler = new GuestRequestHandler(auth, impersonator, new HashSet<string>(), services.Loggers.CreateLogger<GuestRequestHandler>(), users, programs, time,
            sspi: null, grants: new TransferGrantFiles(state.Grants, time));
        var cancel = CancellationToken.None;
        switch (request)
        {
            case StartProgramRequest start:
            {
                var user = await auth.AuthenticateAsync(request.Credential, cancel).ConfigureAwait(false);
                return supervisor is not null
                    ? await supervisor.StartAsync(start with { Credential = null }, user).ConfigureAwait(false)
                    : await StartSupervisorAsync(start with { Credential = null }, user, state).ConfigureAwait(false);
            }

            case UploadRequest upload:
            {
                var staging = state.StagingFile(services.Options.Staging ?? "");
                var fd = OpenStaging(staging, LibC.O_RDONLY);
                try
                {
                    await handler.Transfers.UploadAsync(upload, fd, impersonator, cancel).ConfigureAwait(false);
                }
                finally
                {
                    PosixIo.Close(fd);
                    File.Delete(staging);
                }

                return ChannelResponse.Success(EmptyResult.Instance);
            }

            case DownloadRequest download:
            {
                var staging = state.StagingFile(services.Options.Staging ?? "");
                var fd = OpenStaging(staging, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL);
                var complete = false;
                try
                {
                    await handler.Transfers.DownloadAsync(download, fd, impersonator, cancel).ConfigureAwait(false);
                    complete = true;
                }
                finally
                {
                    PosixIo.Close(fd);
                    if (!complete)
                    {
                        File.Delete(staging);
                    }
                }

                return ChannelResponse.Success(EmptyResult.Instance);
            }

            case AcquireCredentialsRequest:
                return ChannelResponse.Failure(GuestErrorCode.NotSupported,
                    "SSPI logons are not available in this guest: its tools run once per call through qemu-guest-agent and cannot keep tickets; use a name and password.");

            default:
            {
                var response = await handler.HandleAsync(0, request, null, cancel).ConfigureAwait(false);
                handler.Transfers.SaveGrants(); // Initiate: the grant must outlive this run
                return response;
            }
        }
    }

    private static int OpenStaging(string path, int flags)
    {
        var rc = PosixIo.OpenAt(LibC.AT_FDCWD, LibC.Utf8Z(path), flags | LibC.O_NOFOLLOW | LibC.O_NOCTTY, 0x180, out var fd);
        return rc == 0 ? fd : throw GuestOperationException.FromErrno(rc, path, "Cannot open the staging file");
    }

    /// <summary>Starts <c>--supervise</c> as root in the background (its own session, every standard stream a pipe, so
    /// qemu-ga's capture of this run ends when this run ends), hands it the request, and returns what it answers: the
    /// program's pid, or why it could not start.</summary>
    private static async Task<ChannelResponse> StartSupervisorAsync(StartProgramRequest request, GuestUser user, ToolsStateDirectory state)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? throw new InvalidOperationException("No process path."))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var argument in new[] { "--supervise", "--state-dir", state.Root, "--user", user.Name })
        {
            start.ArgumentList.Add(argument);
        }

        using var supervisor = Process.Start(start) ?? throw new GuestOperationException(GuestErrorCode.InternalError, "The program's supervisor did not start.");
        var errors = supervisor.StandardError.ReadToEndAsync();
        await supervisor.StandardInput.BaseStream.WriteAsync(ChannelMessageJson.SerializeRequest(request)).ConfigureAwait(false);
        supervisor.StandardInput.Close();
        using var answer = new MemoryStream();
        await supervisor.StandardOutput.BaseStream.CopyToAsync(answer).ConfigureAwait(false);
        if (ChannelMessageJson.DeserializeResponse(answer.ToArray()) is { } response)
        {
            return response;
        }

        // No answer: the supervisor failed before it could give one, and its standard streams are still ours.
        var detail = (await errors.ConfigureAwait(false)).Trim();
        return ChannelResponse.Failure(GuestErrorCode.InternalError, "The program's supervisor gave no answer" + (detail.Length == 0 ? "." : ": " + (detail.Length > 500 ? detail[..500] : detail)));
    }

    // ---------------------------------------------------------------- --supervise

    private static async Task<int> SuperviseAsync(Options options)
    {
        _ = LibC.setsid();
        // Raw descriptors, not Console streams: .NET's console streams keep duplicates of 0/1/2, which would hold the
        // one-shot run's pipes open for as long as the program runs.
        var input = ReadAll(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read), MaxRequestBytes);
        RedirectToNull(0);
        var state = new ToolsStateDirectory(options.StateDirectory);
        using var supervisor = new ProgramSupervisor(state);
        var request = input is null ? null : ChannelMessageJson.DeserializeRequest(input) as StartProgramRequest;
        var user = options.User is { } name ? new PosixUserDirectory().FindByName(name) : null;
        var response = request is null || user is null
            ? ChannelResponse.Failure(GuestErrorCode.InvalidArgument, "The supervisor needs a StartProgram request and an existing user.")
            : await supervisor.StartAsync(request, user).ConfigureAwait(false);
        _ = PosixIo.WriteAll(1, ChannelMessageJson.SerializeResponse(response));

        // From here on the supervisor holds nothing of the one-shot run's: qemu-ga sees that run end.
        RedirectToNull(1);
        RedirectToNull(2);
        await supervisor.WaitForAllAsync().ConfigureAwait(false);
        return 0;
    }

    internal static void RedirectToNull(int fd)
    {
        var rc = PosixIo.OpenAt(LibC.AT_FDCWD, LibC.Utf8Z("/dev/null"), LibC.O_RDWR, 0, out var devNull);
        if (rc == 0)
        {
            _ = LibC.dup2(devNull, fd);
            PosixIo.Close(devNull);
        }
    }

    // ---------------------------------------------------------------- install

    private static int SelfCheck()
    {
        Console.WriteLine(OwnHash() + " " + Version);
        return 0;
    }

    private static int InstallSelf(Options options)
    {
        var hash = OwnHash();
        if (!string.Equals(hash, options.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"guestops-tools: checksum mismatch: this binary is {hash}, expected {options.Sha256}");
            return 3;
        }

        var state = new ToolsStateDirectory(options.StateDirectory).Ensure();
        var target = Path.Combine(state.Root, BinaryName);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Environment.ProcessPath!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        File.Move(Environment.ProcessPath!, target, overwrite: true);
        Console.WriteLine(hash + " " + Version);
        return 0;
    }

    private static int Discard(Options options)
    {
        var state = new ToolsStateDirectory(options.StateDirectory);
        File.Delete(state.StagingFile(options.Staging ?? ""));
        return 0;
    }

    private static string OwnHash()
    {
        using var binary = File.OpenRead(Environment.ProcessPath!);
        return Convert.ToHexStringLower(SHA256.HashData(binary));
    }

    private static byte[]? ReadAll(Stream stream, int limit)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = stream.Read(chunk)) > 0)
        {
            if (buffer.Length + n > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, n);
        }

        return buffer.ToArray();
    }

    internal sealed record Options(string StateDirectory, string PamService, string? Staging, string? User, string? Sha256, string? Token, int CredentialCacheSeconds)
    {
        private const string GuestOpsPamService = "guestops-tools";

        /// <summary>Parses a one-shot command line (its mode first, as <see cref="Handles"/> saw it); null when it is not valid.</summary>
        public static Options? Parse(string[] args)
        {
            var stateDir = ToolsCommandLine.Value("--state-dir", v => v, ToolsStateDirectory.Default);
            var pam = ToolsCommandLine.Value("--pam-service", v => v, GuestOpsPamService);
            var staging = ToolsCommandLine.Value<string?>("--staging", v => v, null);
            var user = ToolsCommandLine.Value<string?>("--user", v => v, null);
            var sha = ToolsCommandLine.Value<string?>("--sha256", v => v, null);
            var token = ToolsCommandLine.Value<string?>("--token", v => v, null);
            var cache = ToolsCommandLine.Value("--credential-cache-ttl", CacheSeconds, 0);
            var command = new Command(args[0]) { stateDir, pam, staging, user, sha, token, cache };
            var discard = new Argument<string>("name");
            if (args[0] == "--discard-staging")
            {
                command.Arguments.Add(discard); // --discard-staging NAME: the staging file comes first, without --staging
            }

            var result = ToolsCommandLine.Parse(command, args[1..], out var error);
            return error is not null ? null : new Options(
                result.GetValue(stateDir)!,
                result.GetValue(pam)!,
                command.Arguments.Count > 0 ? result.GetValue(discard) : result.GetValue(staging),
                result.GetValue(user),
                result.GetValue(sha),
                result.GetValue(token),
                result.GetValue(cache));
        }

        private static int CacheSeconds(string text) =>
            int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and <= 3600
                ? seconds
                : throw new FormatException("--credential-cache-ttl: 0..3600");
    }
}
