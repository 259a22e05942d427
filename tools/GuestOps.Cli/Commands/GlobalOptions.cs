using System.CommandLine;

namespace GuestOps.Cli.Commands;

/// <summary>The values of the options every command takes.</summary>
public sealed record GlobalOptionValues(string? Url, string? UserName, string? Password, bool Insecure, string? Thumbprint, string? Vm, string? GuestLogin, bool Json, bool Quiet, TimeSpan Timeout, bool Sspi = false, string SspiPackage = "NTLM", string? SspiTarget = null, bool Debug = false);

/// <summary>Options every command accepts (govc's spellings -u, -k, -vm, -l work too), with GUESTOPS_* / GOVC_* fallbacks.</summary>
public sealed class GlobalOptions
{
    public Option<string?> Url { get; } = new("--url", "-u")
    {
        Description = "vSphere endpoint: host, host:port or https://[user[:password]@]host[:port]/sdk [env GUESTOPS_URL, GOVC_URL]",
        Recursive = true,
    };

    public Option<string?> UserName { get; } = new("--username")
    {
        Description = "vSphere user [env GUESTOPS_USERNAME, GOVC_USERNAME; or the URL's user]",
        Recursive = true,
    };

    public Option<string?> Password { get; } = new("--password")
    {
        Description = "vSphere password [env GUESTOPS_PASSWORD, GOVC_PASSWORD; or the URL's; prompted for by login]",
        Recursive = true,
    };

    public Option<bool> Insecure { get; } = new("--insecure", "-k")
    {
        Description = "Skip verification of the server's certificate [env GUESTOPS_INSECURE, GOVC_INSECURE]",
        Recursive = true,
    };

    public Option<string?> Thumbprint { get; } = new("--thumbprint")
    {
        Description = "Accept only the server certificate with this SHA-256 or SHA-1 thumbprint (hex, colons optional) [env GUESTOPS_THUMBPRINT]",
        Recursive = true,
    };

    public Option<string?> Vm { get; } = new("--vm", "-vm")
    {
        Description = "The VM: its name, inventory path (ha-datacenter/vm/NAME) or UUID [env GUESTOPS_VM, GOVC_VM]",
        Recursive = true,
    };

    public Option<string?> GuestLogin { get; } = new("--guest-login", "-l")
    {
        Description = "Guest credentials user:password; without :password, GUESTOPS_GUEST_PASSWORD or a prompt gives it [env GUESTOPS_GUEST_LOGIN, GOVC_GUEST_LOGIN]",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print results as JSON (for scripts)",
        Recursive = true,
    };

    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "No progress output",
        Recursive = true,
    };

    public Option<double> Timeout { get; } = new("--request-timeout")
    {
        Description = "Seconds to wait for one SOAP call",
        DefaultValueFactory = _ => 300,
        Recursive = true,
    };

    public Option<bool> Sspi { get; } = new("--sspi")
    {
        Description = "Log on in the guest with SSPI (AcquireCredentialsInGuest) and use the ticket instead of sending the password; the identity: -l user:password (user may be DOMAIN\\user), else the current user's credentials; the ticket is released at the end",
        Recursive = true,
    };

    public Option<string> SspiPackage { get; } = new("--sspi-package")
    {
        Description = "SSPI package: NTLM, Negotiate or Kerberos",
        DefaultValueFactory = _ => "NTLM",
        Recursive = true,
    };

    public Option<string?> SspiTarget { get; } = new("--sspi-target")
    {
        Description = "SSPI target (service principal) name [default: host/<VM name>]",
        Recursive = true,
    };

    public Option<bool> Debug { get; } = new("--debug")
    {
        Description = "On an error, print the full exception after its one-line message [env GUESTOPS_DEBUG]",
        Recursive = true,
    };

    public IEnumerable<Option> All => [Url, UserName, Password, Insecure, Thumbprint, Vm, GuestLogin, Json, Quiet, Timeout, Sspi, SspiPackage, SspiTarget, Debug];

    public GlobalOptionValues Read(ParseResult result) => new(
        result.GetValue(Url), result.GetValue(UserName), result.GetValue(Password), result.GetValue(Insecure),
        result.GetValue(Thumbprint), result.GetValue(Vm), result.GetValue(GuestLogin), result.GetValue(Json), result.GetValue(Quiet),
        TimeSpan.FromSeconds(result.GetValue(Timeout)), result.GetValue(Sspi), result.GetValue(SspiPackage) ?? "NTLM", result.GetValue(SspiTarget), result.GetValue(Debug));
}
