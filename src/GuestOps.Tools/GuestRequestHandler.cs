using GuestOps.Channel;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Files;
using GuestOps.Tools.Impersonation;
using Microsoft.Extensions.Logging;

namespace GuestOps.Tools;

/// <summary>
/// Executes the host's requests: authenticate (every call), then perform the operation as that user. Guest errors
/// become error responses; nothing here ever sees a password beyond handing it to the authenticator.
/// </summary>
public sealed partial class GuestRequestHandler(
    GuestAuthenticationService auth,
    IImpersonator impersonator,
    IReadOnlySet<string> disabledOperations,
    ILogger<GuestRequestHandler> logger) : IChannelRequestHandler
{
    /// <summary>The operations this worker implements (advertised as capabilities).</summary>
    public static IReadOnlyList<string> Operations { get; } = [ValidateCredentialsRequest.OperationName, ListFilesRequest.OperationName];

    public async ValueTask<ChannelResponse> HandleAsync(IncomingCall call, CancellationToken cancellationToken)
    {
        var request = call.Request;
        try
        {
            if (disabledOperations.Contains(request.Operation))
            {
                return ChannelResponse.Failure(GuestErrorCode.OperationDisabled, $"{request.Operation} is disabled by the guest agent's configuration.");
            }

            switch (request)
            {
                case ValidateCredentialsRequest:
                    await auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
                    return ChannelResponse.Success(EmptyResult.Instance);

                case ListFilesRequest list:
                {
                    var user = await auth.AuthenticateAsync(request.Credential, cancellationToken).ConfigureAwait(false);
                    var plan = ListFilesOperation.Prepare(list);
                    var result = await impersonator.RunAsAsync(user, () => ListFilesOperation.Execute(plan), cancellationToken).ConfigureAwait(false);
                    LogListed(call.Id, user.Name, list.Path, result.Entries.Count, result.Remaining);
                    return ChannelResponse.Success(result);
                }

                default:
                    return ChannelResponse.Failure(GuestErrorCode.UnknownOperation, $"Operation '{request.Operation}' is not implemented by this guest agent.");
            }
        }
        catch (GuestOperationException ex)
        {
            LogFailed(call.Id, request.Operation, ex.Code, ex.Message);
            return ChannelResponse.Failure(ex.ToError());
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Request {Id}: listed {Path} as {User}: {Count} entries, {Remaining} remaining")]
    private partial void LogListed(uint id, string user, string path, int count, int remaining);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Request {Id} ({Operation}) failed: {Code} {Detail}")]
    private partial void LogFailed(uint id, string operation, GuestErrorCode code, string detail);
}
