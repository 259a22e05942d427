using System.Text;
using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

/// <summary>
/// How the guest user is authenticated for one request. The secret parts are redacted from <c>ToString</c>, so a
/// request can be logged; never log them any other way.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(GuestPasswordCredential), "password")]
[JsonDerivedType(typeof(GuestTicketCredential), "ticket")]
public abstract record GuestCredential;

/// <summary>A guest user name and password, checked by the guest (PAM on Linux) on every call.</summary>
public sealed record GuestPasswordCredential(string UserName, string Password) : GuestCredential
{
    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append("UserName = ").Append(UserName).Append(", Password = ***");
        return true;
    }
}

/// <summary>A ticket the guest issued when an SSPI exchange completed (AcquireCredentialsInGuest); valid until released,
/// idle too long, or the worker restarts.</summary>
public sealed record GuestTicketCredential(string Ticket) : GuestCredential
{
    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Ticket = ***");
        return true;
    }
}
