using GuestOps.Channel;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Files;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Processes;
using Microsoft.Extensions.Logging;

namespace GuestOps.Tools;

/// <summary>
/// Executes the host's requests: authenticate (every call), validate, then perform the operation as that user.
/// Guest errors become error responses; nothing here ever sees a password beyond handing it to the authenticator.
/// </summary>
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

    /// <summary>The operations this worker implements (advertised as capabilities).</summary>
    public static IReadOnlyList<string> Operations { get; } =
    [
        ValidateCredentialsRequest.OperationName,
        ListFilesRequest.OperationName,
        MakeDirectoryRequest.OperationName,
        DeleteFileRequest.OperationName,
        DeleteDirectoryRequest.OperationName,
        MoveFileRequest.OperationName,
        MoveDirectoryRequest.OperationName,
        CreateTemporaryRequest.OperationName,
        ChangeFileAttributesRequest.OperationName,
        StartProgramRequest.OperationName,
        ListProcessesRequest.OperationName,
        TerminateProcessRequest.OperationName,
        ReadEnvironmentRequest.OperationName,
        InitiateUploadRequest.OperationName,
        InitiateDownloadRequest.OperationName,
        UploadRequest.OperationName,
        DownloadRequest.OperationName,
        AcquireCredentialsRequest.OperationName,
        ReleaseCredentialsRequest.OperationName,
    ];

    public ValueTask<ChannelResponse> HandleAsync(IncomingCall call, CancellationToken cancellationToken) =>
        HandleAsync(call.Id, call.Request, call, cancellationToken);

    /// <summary>The transfers of this handler, for the one-shot worker (which moves data through staging files).</summary>
    internal FileTransfers Transfers => _transfers;

    /// <summary>Handles a request; <paramref name="call"/> carries the data streams and is null for a request without
    /// any (the one-shot worker handles transfers itself).</summary>
    internal async ValueTask<ChannelResponse> HandleAsync(uint id, ChannelRequest request, IncomingCall? call, CancellationToken cancellationToken)
    {
        try
        {
            if (_disabledOperations.Contains(request.Operation))
            {
                return ChannelResponse.Failure(GuestErrorCode.OperationDisabled, $"{request.Operation} is disabled by the guest agent's configuration.");
            }

            switch (request)
            {
                case ValidateCredentialsRequest:
                    await _auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
                    return ChannelResponse.Success(EmptyResult.Instance);

                case ListFilesRequest list:
                {
                    var user = await _auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
                    var plan = ListFilesOperation.Prepare(list);
                    var result = await _impersonator.RunAsAsync(user, () => ListFilesOperation.Execute(plan), cancellationToken).ConfigureAwait(false);
                    LogListed(id, user.Name, list.Path, result.Entries.Count, result.Remaining);
                    return ChannelResponse.Success(result);
                }

                case MakeDirectoryRequest mkdir:
                    return await RunAsync(id, request, mkdir.Path, _ => FileOperations.Prepare(mkdir), cancellationToken).ConfigureAwait(false);

                case DeleteFileRequest delete:
                    return await RunAsync(id, request, delete.Path, _ => FileOperations.Prepare(delete), cancellationToken).ConfigureAwait(false);

                case DeleteDirectoryRequest rmdir:
                    return await RunAsync(id, request, rmdir.Path, _ => FileOperations.Prepare(rmdir), cancellationToken).ConfigureAwait(false);

                case MoveFileRequest move:
                    return await RunAsync(id, request, move.Source + " -> " + move.Destination, _ => FileOperations.Prepare(move), cancellationToken).ConfigureAwait(false);

                case MoveDirectoryRequest move:
                    return await RunAsync(id, request, move.Source + " -> " + move.Destination, _ => FileOperations.Prepare(move), cancellationToken).ConfigureAwait(false);

                case CreateTemporaryRequest temp:
                    return await RunAsync(id, request, temp.Directory ?? "(default)", user => FileOperations.Prepare(temp, user), cancellationToken).ConfigureAwait(false);

                case ChangeFileAttributesRequest attributes:
                    return await RunAsync(id, request, attributes.Path, _ => FileOperations.Prepare(attributes), cancellationToken).ConfigureAwait(false);

                case StartProgramRequest start:
                {
                    _programs.EnsureReaper(); // here, on a thread with the worker's own identity
                    var response = await RunAsync(id, request, start.ProgramPath, user => ProcessOperations.Prepare(start, user, _programs, _time), cancellationToken).ConfigureAwait(false);
                    if (response.Result is ProcessIdResult started)
                    {
                        LogStarted(id, start.ProgramPath, started.Pid);
                    }

                    return response;
                }

                case ListProcessesRequest processes:
                    return await RunAsync(id, request, "", _ => ProcessOperations.Prepare(processes, _programs, _users), cancellationToken).ConfigureAwait(false);

                case TerminateProcessRequest terminate:
                {
                    var user = await _auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
                    await ProcessOperations.TerminateAsync(terminate, user, _impersonator, _programs, cancellationToken).ConfigureAwait(false);
                    LogDone(id, request.Operation, user.Name, terminate.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    return ChannelResponse.Success(EmptyResult.Instance);
                }

                case ReadEnvironmentRequest environment:
                    return await RunAsync(id, request, "", user => ProcessOperations.Prepare(environment, user), cancellationToken).ConfigureAwait(false);

                case InitiateUploadRequest upload:
                    return await RunAsync(id, request, upload.Path, user => _transfers.Prepare(upload, user), cancellationToken).ConfigureAwait(false);

                case InitiateDownloadRequest download:
                    return await RunAsync(id, request, download.Path, user => _transfers.Prepare(download, user), cancellationToken).ConfigureAwait(false);

                case UploadRequest when call is null:
                case DownloadRequest when call is null:
                    return ChannelResponse.Failure(GuestErrorCode.InvalidArgument, $"{request.Operation} needs a data stream.");

                case UploadRequest upload:
                    await _transfers.UploadAsync(upload, call!.RequestData, _impersonator, cancellationToken).ConfigureAwait(false);
                    LogTransferred(id, request.Operation, call!.RequestData.TotalReceived);
                    return ChannelResponse.Success(EmptyResult.Instance);

                case DownloadRequest download:
                    await _transfers.DownloadAsync(download, call!.ResponseData, _impersonator, cancellationToken).ConfigureAwait(false);
                    LogTransferred(id, request.Operation, call!.ResponseData.BytesSent);
                    return ChannelResponse.Success(EmptyResult.Instance);

                case AcquireCredentialsRequest acquire when _sspi is not null:
                    // GSSAPI reads its user file or keytab and hashes: not on the channel's read loop.
                    return ChannelResponse.Success(await Task.Run(() => _sspi.AcquireAsync(acquire, cancellationToken), cancellationToken).ConfigureAwait(false));

                case ReleaseCredentialsRequest:
                {
                    if (request.Credential is not GuestTicketCredential ticket)
                    {
                        return ChannelResponse.Failure(GuestErrorCode.InvalidArgument, "ReleaseCredentialsInGuest takes a ticket (TicketedSessionAuthentication).");
                    }

                    if (_sspi is null || !_sspi.Tickets.Revoke(ticket.Ticket))
                    {
                        return ChannelResponse.Failure(GuestErrorCode.InvalidLogin, "The ticket is not valid in this guest: it was released, expired, or issued elsewhere.");
                    }

                    LogReleased(id);
                    return ChannelResponse.Success(EmptyResult.Instance);
                }

                case AcquireCredentialsRequest:
                    return ChannelResponse.Failure(GuestErrorCode.NotSupported, "SSPI logons are not set up in this guest agent.");

                default:
                    return ChannelResponse.Failure(GuestErrorCode.UnknownOperation, $"Operation '{request.Operation}' is not implemented by this guest agent.");
            }
        }
        catch (GuestOperationException ex)
        {
            LogFailed(id, request.Operation, ex.Code, ex.Message);
            return ChannelResponse.Failure(ex.ToError());
        }
    }

    /// <summary>Authenticate, validate (on this thread), then run the work as the user.</summary>
    private async Task<ChannelResponse> RunAsync<T>(uint id, ChannelRequest request, string subject, Func<GuestUser, Func<T>> prepare, CancellationToken cancellationToken)
        where T : ChannelResult
    {
        var user = await _auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
        var work = prepare(user);
        var result = await _impersonator.RunAsAsync(user, work, cancellationToken).ConfigureAwait(false);
        LogDone(id, request.Operation, user.Name, subject);
        return ChannelResponse.Success(result);
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Request {Id}: listed {Path} as {User}: {Count} entries, {Remaining} remaining")]
    private partial void LogListed(uint id, string user, string path, int count, int remaining);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Request {Id} ({Operation}) failed: {Code} {Detail}")]
    private partial void LogFailed(uint id, string operation, GuestErrorCode code, string detail);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "Request {Id}: {Operation} as {User}: {Subject}")]
    private partial void LogDone(uint id, string operation, string user, string subject);

    [LoggerMessage(EventId = 204, Level = LogLevel.Debug, Message = "Request {Id}: {Operation} moved {Bytes} bytes")]
    private partial void LogTransferred(uint id, string operation, long bytes);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Request {Id}: a ticket was released")]
    private partial void LogReleased(uint id);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "Request {Id}: started {Program} as pid {Pid}")]
    private partial void LogStarted(uint id, string program, long pid);
}
