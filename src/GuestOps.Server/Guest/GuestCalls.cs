using GuestOps.Channel.Messages;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using GuestOps.Host.Transfers;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.Guest;

/// <summary>
/// What every guest-operation method shares: the VM checks (it exists and is powered on), the guest credential taken
/// from <c>auth</c>, the call through the host agent, and the translation of guest errors and agent failures into the
/// vim faults the vSphere Web Services API Reference lists for guest operations.
/// </summary>
/// <param name="transfersThroughFrontEnd">Transfer URLs name this process even when another host agent runs the VM
/// (this process streams them through to it).</param>
public sealed class GuestCalls(IHostAgent hostAgent, bool transfersThroughFrontEnd = false)
{
    public Task<TResult> InvokeAsync<TResult>(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, ChannelRequest request)
        where TResult : ChannelResult =>
        SendAsync<TResult>(call, vm, () => request with { Credential = Credential(auth) });

    /// <summary>Like <see cref="InvokeAsync{TResult}"/> for a request that carries its own credential (or none): the VM
    /// checks, then <paramref name="request"/>, built only after them (it may refuse its arguments with a fault).</summary>
    public async Task<TResult> SendAsync<TResult>(VimCall call, ManagedObjectReference vm, Func<ChannelRequest> request)
        where TResult : ChannelResult
    {
        var snapshot = hostAgent.GetVirtualMachine(vm.Value);
        if (vm.type != "VirtualMachine" || snapshot is null)
        {
            throw new VimFaultException(new ManagedObjectNotFound { obj = vm }, $"The object '{vm}' has already been deleted or has not been completely created");
        }

        if (snapshot.PowerState != VmPowerState.PoweredOn)
        {
            throw GuestFaultMessages.Exception(
                new InvalidPowerState { requestedState = VirtualMachinePowerState.PoweredOn, existingState = VirtualMachinePowerState.PoweredOff });
        }

        ChannelResponse response;
        try
        {
            response = await hostAgent.InvokeGuestAsync(vm.Value, request(), call.CancellationToken);
        }
        catch (GuestAgentException e)
        {
            throw GuestFaultMessages.Exception(e.Failure switch
            {
                GuestAgentFailure.ComponentsOutOfDate => new GuestComponentsOutOfDate(),
                GuestAgentFailure.OperationsDisabled => new OperationDisabledByGuest(),
                GuestAgentFailure.HostNotConnected => new HostNotConnected(),
                _ => new GuestOperationsUnavailable(),
            }, e.Message);
        }

        if (response.Error is { } error)
        {
            throw GuestFaultMessages.Exception(Fault(error), error.Message);
        }

        return response.Result as TResult ?? throw GuestFaultMessages.Exception(new SystemError { reason = "unexpected guest answer" }, "The guest agent answered with an unexpected result.");
    }

    /// <summary>The URL of <paramref name="transfer"/> for VM <paramref name="vm"/>: at the host agent that runs the VM
    /// when another process does (a cluster) and transfers are not streamed through this one, else at this server's port
    /// the call came in on. The host agent must be connected either way.</summary>
    public string TransferUrl(VimCall call, ManagedObjectReference vm, IssuedTransfer transfer)
    {
        string? server;
        try
        {
            server = (hostAgent as IGuestFileServers)?.GuestFileServer(vm.Value, call.Request.IsHttps);
        }
        catch (GuestAgentException e)
        {
            throw GuestFaultMessages.Exception(e.Failure == GuestAgentFailure.HostNotConnected ? new HostNotConnected() : new GuestOperationsUnavailable(), e.Message);
        }

        return server is null || transfersThroughFrontEnd
            ? GuestFileUrl.Format(transfer, call.Request.LocalPort ?? (call.Request.IsHttps ? 443 : 80), call.Request.IsHttps)
            : GuestFileUrl.Format(transfer, server);
    }

    /// <summary>The channel credential for <c>auth</c> (a GuestAuthentication): a name and password, or a ticket.</summary>
    public static GuestCredential Credential(GuestAuthentication auth) => auth switch
    {
        // Simulated and Linux server guests have no logged-in desktop user (guest.interactiveGuestOperationsReady is
        // false): interactive calls are refused, as vSphere refuses them when no user is logged in to the guest.
        NamePasswordAuthentication { interactiveSession: true } => throw InteractiveUnavailable(),
        NamePasswordAuthentication np => new GuestPasswordCredential(np.username, np.password),
        TicketedSessionAuthentication ticket => new GuestTicketCredential(ticket.ticket),
        _ => throw GuestFaultMessages.Exception(new InvalidGuestLogin(), $"{auth.GetType().Name} cannot be used for this operation."),
    };

    /// <summary>The fault for an interactive session (<c>interactiveSession</c> true), which no guest here can offer.</summary>
    public static VimFaultException InteractiveUnavailable() => GuestFaultMessages.Exception(new GuestOperationsUnavailable(),
        "Interactive guest operations are not available: no desktop user is logged in to the guest (guest.interactiveGuestOperationsReady is false).");

    /// <summary>Guest-side errors (<see cref="GuestOps.Channel.Messages.GuestErrorCode"/>) as vim faults; their texts
    /// are <see cref="GuestFaultMessages"/>'.</summary>
    public static MethodFault Fault(GuestError error) => error.Code switch
    {
        GuestErrorCode.InvalidLogin => new InvalidGuestLogin(),
        GuestErrorCode.PermissionDenied => new GuestPermissionDenied(),
        GuestErrorCode.FileNotFound => new FileNotFound { file = error.Path ?? "" },
        GuestErrorCode.FileAlreadyExists => new FileAlreadyExists { file = error.Path ?? "" },
        GuestErrorCode.NotAFile => new NotAFile { file = error.Path ?? "" },
        GuestErrorCode.NotADirectory => new NotADirectory { file = error.Path ?? "" },
        GuestErrorCode.DirectoryNotEmpty => new DirectoryNotEmpty { file = error.Path ?? "" },
        GuestErrorCode.FileAccessError => new CannotAccessFile { file = error.Path ?? "" },
        GuestErrorCode.FileNameTooLong => new FileNameTooLong { file = error.Path ?? "" },
        GuestErrorCode.FileLocked => new FileLocked { file = error.Path ?? "" },
        GuestErrorCode.InvalidArgument => new InvalidArgument(),
        GuestErrorCode.NotSupported => new OperationNotSupportedByGuest(),
        GuestErrorCode.OperationDisabled => new OperationDisabledByGuest(),
        GuestErrorCode.NoSuchProcess => new GuestProcessNotFound { pid = error.Pid ?? 0 },
        GuestErrorCode.UnknownOperation => new GuestComponentsOutOfDate(),
        GuestErrorCode.TooManyLogons => new TooManyGuestLogons(),
        GuestErrorCode.NoDiskSpace => new NoDiskSpace { file = error.Path ?? "", datastore = "" },
        GuestErrorCode.UnknownAuthenticationSession => new InvalidArgument { invalidProperty = "sessionID" },
        _ => new GuestOperationsFault(),
    };
}
