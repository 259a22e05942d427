namespace GuestOps.Tools.Sspi;

/// <summary>The GSSAPI mechanism of a first SSPI token, as NegotiateAuthentication names its packages.</summary>
public enum SspiMechanism
{
    Unknown,

    /// <summary>A raw NTLMSSP message (<c>NTLMSSP\0</c>): package <c>NTLM</c>.</summary>
    Ntlm,

    /// <summary>An SPNEGO initial token (OID 1.3.6.1.5.5.2): package <c>Negotiate</c> (Kerberos or NTLM inside).</summary>
    Negotiate,

    /// <summary>A raw Kerberos AP-REQ (OID 1.2.840.113554.1.2.2, or Microsoft's 1.2.840.48018.1.2.2): package <c>Kerberos</c>.</summary>
    Kerberos,
}

/// <summary>Recognizes the mechanism of a first token (RFC 2743 3.1 framing: <c>0x60 len 0x06 oid ...</c>).</summary>
public static class SspiMechanisms
{
    private static ReadOnlySpan<byte> NtlmSignature => "NTLMSSP\0"u8;

    private static ReadOnlySpan<byte> SpnegoOid => [0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

    private static ReadOnlySpan<byte> KerberosOid => [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

    private static ReadOnlySpan<byte> MicrosoftKerberosOid => [0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

    public static string Package(SspiMechanism mechanism) => mechanism switch
    {
        SspiMechanism.Ntlm => "NTLM",
        SspiMechanism.Negotiate => "Negotiate",
        SspiMechanism.Kerberos => "Kerberos",
        _ => "unknown",
    };

    public static SspiMechanism Detect(ReadOnlySpan<byte> token)
    {
        if (token.StartsWith(NtlmSignature))
        {
            return SspiMechanism.Ntlm;
        }

        if (token.Length < 4 || token[0] != 0x60)
        {
            return SspiMechanism.Unknown;
        }

        // Skip the DER length of the InitialContextToken.
        var position = 2;
        if ((token[1] & 0x80) != 0)
        {
            position += token[1] & 0x7f;
        }

        if (position + 2 > token.Length || token[position] != 0x06)
        {
            return SspiMechanism.Unknown;
        }

        var oidLength = token[position + 1];
        var start = position + 2;
        if (oidLength >= 0x80 || start + oidLength > token.Length)
        {
            return SspiMechanism.Unknown;
        }

        var oid = token.Slice(start, oidLength);
        return oid.SequenceEqual(SpnegoOid) ? SspiMechanism.Negotiate
            : oid.SequenceEqual(KerberosOid) || oid.SequenceEqual(MicrosoftKerberosOid) ? SspiMechanism.Kerberos
            : SspiMechanism.Unknown;
    }

    /// <summary>
    /// The identity an NTLM AUTHENTICATE message (type 3) claims, <c>DOMAIN\user</c> or <c>user</c>, raw or inside a
    /// SPNEGO token (MS-NLMP 2.2.1.3: DomainNameFields at 28, UserNameFields at 36, NegotiateFlags at 60; UTF-16LE
    /// when NTLMSSP_NEGOTIATE_UNICODE is set). Null for any other token or a malformed one. It is only a claim, used
    /// to throttle repeated failures per account before GSSAPI verifies it.
    /// </summary>
    public static string? NtlmAuthenticateIdentity(ReadOnlySpan<byte> token)
    {
        var at = token.IndexOf(NtlmSignature);
        if (at < 0)
        {
            return null;
        }

        var message = token[at..];
        if (message.Length < 64 || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(message[8..]) != 3)
        {
            return null;
        }

        var unicode = (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(message[60..]) & 1) != 0;
        var domain = Field(message, 28, unicode);
        var user = Field(message, 36, unicode);
        return string.IsNullOrEmpty(user) ? null : string.IsNullOrEmpty(domain) ? user : domain + "\\" + user;
    }

    private static string? Field(ReadOnlySpan<byte> message, int at, bool unicode)
    {
        var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(message[at..]);
        var offset = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(message[(at + 4)..]);
        if (length == 0)
        {
            return "";
        }

        if (offset > (uint)message.Length || length > message.Length - (int)offset || length > 512 || (unicode && length % 2 != 0))
        {
            return null;
        }

        var bytes = message.Slice((int)offset, length);
        return unicode ? System.Text.Encoding.Unicode.GetString(bytes) : System.Text.Encoding.ASCII.GetString(bytes);
    }
}
