using System.Text;
using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

// SSPI-style authentication (vSphere GuestAuthManager.AcquireCredentialsInGuest / ReleaseCredentialsInGuest).

/// <summary>
/// One leg of a Negotiate (SPNEGO, NTLM or Kerberos) exchange with the guest. The first leg has no
/// <see cref="SessionId"/>; the guest answers either with a challenge and the session id to continue with, or — when the
/// exchange completed — with a ticket for later calls. Carries no <see cref="ChannelRequest.Credential"/>: the token is
/// the credential.
/// </summary>
[GuestMethod("AcquireCredentialsInGuest", Privilege = GuestPrivilege.Query, Faults = [GuestErrorCode.NotSupported, GuestErrorCode.UnknownAuthenticationSession])]
public sealed partial record AcquireCredentialsRequest : ChannelRequest, IChannelRequest<AcquireCredentialsResult>
{
    /// <summary>The client's SSPI/GSSAPI token, base64 (vim25 <c>SSPIAuthentication.sspiToken</c>).</summary>
    public required string Token { get; init; }

    /// <summary>The exchange to continue (from the previous leg's challenge); absent on the first leg.</summary>
    public long? SessionId { get; init; }
}

/// <summary>
/// The guest's answer to one leg: <see cref="SessionId"/> set means "another round" (<see cref="ServerToken"/> is the
/// challenge); otherwise the exchange completed: <see cref="Ticket"/> authenticates later calls as
/// <see cref="UserName"/>, and <see cref="ServerToken"/>, when present, is the final token the client's Negotiate
/// context still has to receive. <see cref="Ticket"/> is secret: redacted from <c>ToString</c>.
/// </summary>
public sealed record AcquireCredentialsResult : ChannelResult
{
    public string? ServerToken { get; init; }

    public long? SessionId { get; init; }

    public string? Ticket { get; init; }

    public string? UserName { get; init; }

    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append("SessionId = ").Append(SessionId).Append(", UserName = ").Append(UserName)
            .Append(", ServerToken = ").Append(ServerToken is null ? "null" : $"{ServerToken.Length} chars")
            .Append(", Ticket = ").Append(Ticket is null ? "null" : "***");
        return true;
    }
}

/// <summary>Revoke the ticket in <see cref="ChannelRequest.Credential"/> (a <see cref="GuestTicketCredential"/>).</summary>
[GuestMethod("ReleaseCredentialsInGuest", Privilege = GuestPrivilege.Query)]
public sealed partial record ReleaseCredentialsRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
}
