using GuestOps.Server.ManagedObjects;
using GuestOps.Server.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.Authorization;

/// <summary>
/// The one place calls are checked before they reach a managed object: the session cookie is looked up (and kept
/// alive), and every operation that needs more than System.Anonymous requires a live session.
/// </summary>
public sealed class VimCallAuthorizer(SessionManager sessions) : IVimCallAuthorizer
{
    public ValueTask AuthorizeAsync(VimCall call)
    {
        if (call.Request.SessionKey is { Length: > 0 } key)
        {
            call.Session = sessions.Touch(key);
        }

        if (call.Session is null && call.Operation.Privilege != Privileges.SystemAnonymous)
        {
            throw new VimFaultException(
                new NotAuthenticated { @object = call.This, privilegeId = Privileges.SystemView },
                "The session is not authenticated.");
        }

        return ValueTask.CompletedTask;
    }
}
