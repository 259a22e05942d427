using GuestOps.Vim;

namespace GuestOps.Soap;

/// <summary>What the HTTP layer knows about a SOAP request before it is read. <paramref name="SoapAction"/>: the
/// SOAPAction header (clients send <c>urn:vim25/&lt;API version&gt;</c>).</summary>
public sealed record SoapRequestInfo(string? SessionKey, string? ClientAddress, string? UserAgent, string? SoapAction = null)
{
    /// <summary>The API version the client speaks, from <c>SOAPAction: "urn:vim25/8.0.3.0"</c>; null when not sent.</summary>
    public Version? ApiVersion =>
        SoapAction?.Trim('"', ' ') is { } action && action.StartsWith("urn:vim25/", StringComparison.Ordinal)
            && Version.TryParse(action["urn:vim25/".Length..], out var version) ? version : null;

    /// <summary>The server port the request came in on (URLs the server hands out, e.g. file transfers, name it).</summary>
    public int? LocalPort { get; init; }

    /// <summary>Whether the request came over HTTPS.</summary>
    public bool IsHttps { get; init; } = true;
}

/// <summary>A session as the dispatcher sees it; the server owns the real thing.</summary>
public interface IVimSession
{
    string Key { get; }

    string UserName { get; }
}

/// <summary>One vim25 call being dispatched: the operation, its target and arguments, and who is calling.</summary>
public sealed class VimCall
{
    public VimCall(VimOperation operation, ManagedObjectReference @this, object?[] arguments, SoapRequestInfo request, CancellationToken cancellationToken)
    {
        Operation = operation;
        This = @this;
        Arguments = arguments;
        Request = request;
        CancellationToken = cancellationToken;
    }

    public VimOperation Operation { get; }

    /// <summary>The <c>_this</c> reference.</summary>
    public ManagedObjectReference This { get; }

    /// <summary>Deserialized parameters in wire order, <c>_this</c> first.</summary>
    public object?[] Arguments { get; }

    public SoapRequestInfo Request { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>The caller's session, once the authorizer has found it.</summary>
    public IVimSession? Session { get; set; }

    /// <summary>Set by <c>Login</c>: the HTTP layer sends it as the session cookie.</summary>
    public string? IssuedSessionKey { get; set; }
}

/// <summary>Finds the managed object a reference names, as visible to the call's session.</summary>
public interface IManagedObjectResolver
{
    object? Resolve(ManagedObjectReference reference, VimCall call);
}

/// <summary>Told how every call ended that got as far as the authorizer (allowed or refused): for audit trails.</summary>
public interface IVimCallObserver
{
    /// <summary><paramref name="fault"/> is null when the call succeeded. Must not throw.</summary>
    void Completed(VimCall call, MethodFault? fault);
}

/// <summary>Session and privilege checks; runs before any managed object is reached. Throws <see cref="VimFaultException"/>.</summary>
public interface IVimCallAuthorizer
{
    ValueTask AuthorizeAsync(VimCall call);
}
