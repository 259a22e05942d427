using System.ServiceModel;
using GuestOps.Vim;

namespace GuestOps.Client;

/// <summary>The vim fault a call failed with. WCF throws a declared fault as <c>FaultException&lt;TDetail&gt;</c>
/// with TDetail the declared type (e.g. GuestOperationsFault); its Detail is the concrete fault (e.g. GuestPermissionDenied).</summary>
public static class VimFaults
{
    /// <summary>The fault carried by <paramref name="exception"/>, or null when it carries none.</summary>
    public static MethodFault? Detail(Exception exception) => exception switch
    {
        VimFaultException vim => vim.Fault,
        FaultException fault when fault.GetType().IsGenericType => fault.GetType().GetProperty(nameof(FaultException<MethodFault>.Detail))?.GetValue(fault) as MethodFault,
        _ => null,
    };

    /// <summary>Runs <paramref name="call"/>; a vim fault becomes a <see cref="VimFaultException"/> with the server's message.</summary>
    public static async Task<T> Translate<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (FaultException e) when (Detail(e) is { } fault)
        {
            throw new VimFaultException(fault, e.Message);
        }
    }

    /// <summary>Runs <paramref name="call"/>; a vim fault becomes a <see cref="VimFaultException"/> with the server's message.</summary>
    public static async Task Translate(Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (FaultException e) when (Detail(e) is { } fault)
        {
            throw new VimFaultException(fault, e.Message);
        }
    }
}
