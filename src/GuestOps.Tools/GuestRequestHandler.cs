using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Files;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Processes;
using Microsoft.Extensions.Logging;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools;

/// <summary>
/// Executes the host's requests: authenticate (every call), validate, then perform the operation as that user.
/// Guest errors become error responses; nothing here ever sees a password beyond handing it to the authenticator.
/// Each guest method has its handler here, named after it (<c>ListFilesInGuestAsync</c>); the GuestOps.Generators
/// source generator adds <c>Operations</c> and <c>DispatchAsync</c> and fails the build when one is missing.
/// </summary>
[GuestMethodHandlers]
public sealed partial class GuestRequestHandler : IChannelRequestHandler
{
    private readonly GuestAuthenticationService _auth;
    private readonly IImpersonator _impersonator;
    private readonly IReadOnlySet<string> _disabledOperations;
    private readonly IUserDirectory _users;
    private readonly StartedPrograms _programs;
    private readonly FileTransfers _transfers;
    private readonly TimeProvider _time;
    private readonly ILogger<GuestRequestHandler> _logger;
    private readonly Sspi.SspiAuthenticator? _sspi;

    public GuestRequestHandler(
        GuestAuthenticationService auth,
        IImpersonator impersonator,
        IReadOnlySet<string> disabledOperations,
        ILogger<GuestRequestHandler> logger,
        Sspi.SspiAuthenticator? sspi = null)
        : this(auth, impersonator, disabledOperations, logger, new PosixUserDirectory(), new StartedPrograms(), TimeProvider.System, sspi)
    {
    }

    internal GuestRequestHandler(
        GuestAuthenticationService auth,
        IImpersonator impersonator,
        IReadOnlySet<string> disabledOperations,
        ILogger<GuestRequestHandler> logger,
        IUserDirectory users,
        StartedPrograms programs,
        TimeProvider time,
        Sspi.SspiAuthenticator? sspi = null,
        TransferGrantFiles? grants = null)
    {
        _sspi = sspi;
        _auth = auth;
        _impersonator = impersonator;
        _disabledOperations = disabledOperations;
        _logger = logger;
        _users = users;
        _programs = programs;
        _time = time;
        _transfers = new FileTransfers(time, grants);
    }

    public ValueTask<ChannelResponse> HandleAsync(IncomingCall call, CancellationToken cancellationToken) =>
        HandleAsync(call.Id, call.Request, call, cancellationToken);

    /// <summary>The transfers of this handler, for the one-shot worker (which moves data through staging files).</summary>
    internal FileTransfers Transfers => _transfers;

    /// <summary>Handles a request by its guest method's <c>{Name}Async</c> (the generated <c>DispatchAsync</c>);
    /// <paramref name="call"/> carries the data streams and is null for a request without any (the one-shot worker
    /// handles transfers itself).</summary>
    internal async ValueTask<ChannelResponse> HandleAsync(uint id, ChannelRequest request, IncomingCall? call, CancellationToken cancellationToken)
    {
        try
        {
            if (_disabledOperations.Contains(request.Operation))
            {
                return ChannelResponse.Failure(GuestErrorCode.OperationDisabled, $"{request.Operation} is disabled by the guest agent's configuration.");
            }

            return await DispatchAsync(id, request, call, cancellationToken).ConfigureAwait(false);
        }
        catch (GuestOperationException ex)
        {
            LogFailed(id, request.Operation, ex.Code, ex.Message);
            return ChannelResponse.Failure(ex.ToError());
        }
    }

    // ------------------------------------------------------------------- one handler per guest method, by its name

    private async ValueTask<ChannelResponse> ValidateCredentialsInGuestAsync(uint id, ValidateCredentialsRequest request, IncomingCall? call, CancellationToken cancellationToken)
    {
        await _auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
        return ChannelResponse.Success(EmptyResult.Instance);
    }

    private async ValueTask<ChannelResponse> ListFilesInGuestAsync(uint id, ListFilesRequest request, IncomingCall? call, CancellationToken cancellationToken)
    {
        var user = await _auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
        var plan = ListFilesOperation.Prepare(request);
        var result = await _impersonator.RunAsAsync(user, () => ListFilesOperation.Execute(plan), cancellationToken).ConfigureAwait(false);
        LogListed(id, user.Name, request.Path, result.Entries.Count, result.Remaining);
        return ChannelResponse.Success(result);
    }

    private ValueTask<ChannelResponse> MakeDirectoryInGuestAsync(uint id, MakeDirectoryRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Path, _ => MakeDirectoryOperation.Prepare(request), cancellationToken);

    private ValueTask<ChannelResponse> DeleteFileInGuestAsync(uint id, DeleteFileRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Path, _ => DeleteOperation.Prepare(request), cancellationToken);

    private ValueTask<ChannelResponse> DeleteDirectoryInGuestAsync(uint id, DeleteDirectoryRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Path, _ => DeleteOperation.Prepare(request), cancellationToken);

    private ValueTask<ChannelResponse> MoveFileInGuestAsync(uint id, MoveFileRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Source + " -> " + request.Destination, _ => MoveOperation.Prepare(request), cancellationToken);

    private ValueTask<ChannelResponse> MoveDirectoryInGuestAsync(uint id, MoveDirectoryRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Source + " -> " + request.Destination, _ => MoveOperation.Prepare(request), cancellationToken);

    private ValueTask<ChannelResponse> CreateTemporaryFileInGuestAsync(uint id, CreateTemporaryFileRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Directory ?? "(default)", user => CreateTemporaryOperation.Prepare(request, user), cancellationToken);

    private ValueTask<ChannelResponse> CreateTemporaryDirectoryInGuestAsync(uint id, CreateTemporaryDirectoryRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Directory ?? "(default)", user => CreateTemporaryOperation.Prepare(request, user), cancellationToken);

    private ValueTask<ChannelResponse> ChangeFileAttributesInGuestAsync(uint id, ChangeFileAttributesRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Path, _ => ChangeFileAttributesOperation.Prepare(request), cancellationToken);

    private async ValueTask<ChannelResponse> StartProgramInGuestAsync(uint id, StartProgramRequest request, IncomingCall? call, CancellationToken cancellationToken)
    {
        _programs.EnsureReaper(); // here, on a thread with the worker's own identity
        var response = await RunAsync(id, request, request.ProgramPath, user => ProcessOperations.Prepare(request, user, _programs, _time), cancellationToken).ConfigureAwait(false);
        if (response.Result is ProcessIdResult started)
        {
            LogStarted(id, request.ProgramPath, started.Pid);
        }

        return response;
    }

    // The programs are collected after the credentials are checked, on this thread (the worker's own identity): a
    // program started just before has had the check's time to exit, and its exit code is in this answer.
    private ValueTask<ChannelResponse> ListProcessesInGuestAsync(uint id, ListProcessesRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, "", _ =>
        {
            _programs.Reap();
            return ProcessOperations.Prepare(request, _programs, _users);
        }, cancellationToken);

    private async ValueTask<ChannelResponse> TerminateProcessInGuestAsync(uint id, TerminateProcessRequest request, IncomingCall? call, CancellationToken cancellationToken)
    {
        var user = await _auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
        await ProcessOperations.TerminateAsync(request, user, _impersonator, _programs, cancellationToken).ConfigureAwait(false);
        LogDone(id, request.Operation, user.Name, request.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return ChannelResponse.Success(EmptyResult.Instance);
    }

    private ValueTask<ChannelResponse> ReadEnvironmentVariableInGuestAsync(uint id, ReadEnvironmentRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, "", user => ProcessOperations.Prepare(request, user), cancellationToken);

    private ValueTask<ChannelResponse> InitiateFileTransferToGuestAsync(uint id, InitiateUploadRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Path, user => _transfers.Prepare(request, user), cancellationToken);

    private ValueTask<ChannelResponse> InitiateFileTransferFromGuestAsync(uint id, InitiateDownloadRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        RunAsync(id, request, request.Path, user => _transfers.Prepare(request, user), cancellationToken);

    private ValueTask<ChannelResponse> FileTransferToGuestAsync(uint id, UploadRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        TransferAsync(id, request, call, async c =>
        {
            await _transfers.UploadAsync(request, c.RequestData, _impersonator, cancellationToken).ConfigureAwait(false);
            return c.RequestData.TotalReceived;
        });

    private ValueTask<ChannelResponse> FileTransferFromGuestAsync(uint id, DownloadRequest request, IncomingCall? call, CancellationToken cancellationToken) =>
        TransferAsync(id, request, call, async c =>
        {
            await _transfers.DownloadAsync(request, c.ResponseData, _impersonator, cancellationToken).ConfigureAwait(false);
            return c.ResponseData.BytesSent;
        });

    /// <summary>A transfer runs over the call's data stream (none: the request came without one); it answers with
    /// success once <paramref name="transfer"/> has moved its bytes, and logs how many.</summary>
    private async ValueTask<ChannelResponse> TransferAsync(uint id, ChannelRequest request, IncomingCall? call, Func<IncomingCall, Task<long>> transfer)
    {
        if (call is null)
        {
            return NeedsDataStream(request);
        }

        LogTransferred(id, request.Operation, await transfer(call).ConfigureAwait(false));
        return ChannelResponse.Success(EmptyResult.Instance);
    }

    private async ValueTask<ChannelResponse> AcquireCredentialsInGuestAsync(uint id, AcquireCredentialsRequest request, IncomingCall? call, CancellationToken cancellationToken)
    {
        if (_sspi is null)
        {
            return ChannelResponse.Failure(GuestErrorCode.NotSupported, "SSPI logons are not set up in this guest agent.");
        }

        // GSSAPI reads its user file or keytab and hashes: not on the channel's read loop.
        return ChannelResponse.Success(await Task.Run(() => _sspi.AcquireAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false));
    }

    private ValueTask<ChannelResponse> ReleaseCredentialsInGuestAsync(uint id, ReleaseCredentialsRequest request, IncomingCall? call, CancellationToken cancellationToken)
    {
        if (request.Credential is not GuestTicketCredential ticket)
        {
            return new(ChannelResponse.Failure(GuestErrorCode.InvalidArgument, "ReleaseCredentialsInGuest takes a ticket (TicketedSessionAuthentication)."));
        }

        if (_sspi is null || !_sspi.Tickets.Revoke(ticket.Ticket))
        {
            return new(ChannelResponse.Failure(GuestErrorCode.InvalidLogin, "The ticket is not valid in this guest: it was released, expired, or issued elsewhere."));
        }

        LogReleased(id);
        return new(ChannelResponse.Success(EmptyResult.Instance));
    }

    private static ChannelResponse NeedsDataStream(ChannelRequest request) =>
        ChannelResponse.Failure(GuestErrorCode.InvalidArgument, $"{request.Operation} needs a data stream.");

    /// <summary>Authenticate, validate (on this thread), then run the work as the user.</summary>
    private async ValueTask<ChannelResponse> RunAsync<T>(uint id, ChannelRequest request, string subject, Func<GuestUser, Func<T>> prepare, CancellationToken cancellationToken)
        where T : ChannelResult
    {
        var user = await _auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
        var work = prepare(user);
        var result = await _impersonator.RunAsAsync(user, work, cancellationToken).ConfigureAwait(false);
        LogDone(id, request.Operation, user.Name, subject);
        return ChannelResponse.Success(result);
    }

    [LoggerMessage(EventId = 5200, Level = LogLevel.Debug, Message = "Request {Id}: listed {Path} as {User}: {Count} entries, {Remaining} remaining")]
    private partial void LogListed(uint id, string user, string path, int count, int remaining);

    [LoggerMessage(EventId = 5201, Level = LogLevel.Information, Message = "Request {Id} ({Operation}) failed: {Code} {Detail}")]
    private partial void LogFailed(uint id, string operation, GuestErrorCode code, string detail);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Debug, Message = "Request {Id}: {Operation} as {User}: {Subject}")]
    private partial void LogDone(uint id, string operation, string user, string subject);

    [LoggerMessage(EventId = 5204, Level = LogLevel.Debug, Message = "Request {Id}: {Operation} moved {Bytes} bytes")]
    private partial void LogTransferred(uint id, string operation, long bytes);

    [LoggerMessage(EventId = 5205, Level = LogLevel.Information, Message = "Request {Id}: a ticket was released")]
    private partial void LogReleased(uint id);

    [LoggerMessage(EventId = 5203, Level = LogLevel.Information, Message = "Request {Id}: started {Program} as pid {Pid}")]
    private partial void LogStarted(uint id, string program, long pid);
}
