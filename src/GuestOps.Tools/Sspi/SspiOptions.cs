namespace GuestOps.Tools.Sspi;

/// <summary>How the worker accepts SSPI-style (Negotiate) logins and keeps the tickets it issues.</summary>
public sealed record SspiOptions
{
    /// <summary>gss-ntlmssp's user database (<c>DOMAIN:user:password</c> lines), readable only by the worker; set as
    /// <c>NTLM_USER_FILE</c> in the C environment at start. Null: NTLM is available only when the environment already
    /// names one.</summary>
    public string? NtlmUserFile { get; init; }

    /// <summary>A Kerberos keytab with the guest's service keys, set as <c>KRB5_KTNAME</c>; null: Kerberos is not offered
    /// (Negotiate then falls back to NTLM).</summary>
    public string? Keytab { get; init; }

    /// <summary>NTLM domains (e.g. the guest's NetBIOS name) and Kerberos realms whose users map to the guest account of
    /// the same name. Compared ignoring case for domains, exactly for realms.</summary>
    public IReadOnlyList<string> Domains { get; init; } = [];

    /// <summary>A ticket not used for this long expires.</summary>
    public TimeSpan TicketIdleTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Live tickets at most; more logons fail with TooManyLogons until some are released or expire.</summary>
    public int MaxTickets { get; init; } = 1024;

    /// <summary>An unfinished exchange is dropped this long after its last leg.</summary>
    public TimeSpan ExchangeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Unfinished exchanges at most; more first legs fail with TooManyLogons.</summary>
    public int MaxPendingExchanges { get; init; } = 64;
}
