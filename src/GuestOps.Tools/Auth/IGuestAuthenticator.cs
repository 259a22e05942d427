namespace GuestOps.Tools.Auth;

/// <summary>The result of checking a name and password.</summary>
public enum AuthenticationResult
{
    Success,

    /// <summary>Wrong password, unknown user, locked/expired account, password change required.</summary>
    Rejected,

    /// <summary>The authentication system itself failed (bad PAM configuration, module error).</summary>
    SystemError,
}

/// <summary>Checks guest credentials (PAM in production; mocked in unit tests).</summary>
public interface IGuestAuthenticator
{
    /// <summary>Checks the password of <paramref name="userName"/>. Never logs or keeps the password.</summary>
    ValueTask<(AuthenticationResult Result, string Detail)> AuthenticateAsync(string userName, string password, CancellationToken cancellationToken);
}
