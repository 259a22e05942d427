using GuestOps.Tools.Auth;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Native;
using Microsoft.Extensions.Logging;

namespace GuestOps.Tools.Sspi;

/// <summary>
/// Prepares the worker for SSPI logons at start, before any thread touches GSSAPI: puts the NTLM user file and the
/// keytab into the C library's environment (GSSAPI mechanisms read <c>NTLM_USER_FILE</c> and <c>KRB5_KTNAME</c> there),
/// checks which mechanisms the guest can really offer, and composes the authenticator.
/// </summary>
public static partial class SspiSetup
{
    private const UnixFileMode OthersAccess = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static SspiAuthenticator Create(SspiOptions options, IUserDirectory users, LoginThrottle throttle, TimeProvider time, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(SspiSetup).FullName!);
        var ntlm = false;
        if (options.NtlmUserFile is { } file)
        {
            if (!File.Exists(file))
            {
                LogMissing(logger, "NTLM user file", file);
            }
            else
            {
                if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(file) & OthersAccess) != 0)
                {
                    LogReadableByOthers(logger, file);
                }

                ntlm = Set("NTLM_USER_FILE", file);
            }
        }
        else
        {
            ntlm = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NTLM_USER_FILE"));
        }

        if (ntlm && !NtlmMechanismInstalled())
        {
            LogNoNtlmMechanism(logger);
            ntlm = false;
        }

        var kerberos = false;
        if (options.Keytab is { } keytab)
        {
            kerberos = File.Exists(keytab) ? Set("KRB5_KTNAME", "FILE:" + Path.GetFullPath(keytab)) : LogMissingFalse(logger, keytab);
        }

        LogMechanisms(logger, ntlm, kerberos, string.Join(", ", options.Domains), options.TicketIdleTimeout.TotalSeconds);
        var tickets = new TicketStore(time, options.TicketIdleTimeout, options.MaxTickets);
        return new SspiAuthenticator(options, new SspiIdentityMap(options.Domains, users), tickets, throttle, time, loggers.CreateLogger<SspiAuthenticator>())
        {
            NtlmAvailable = ntlm,
            KerberosAvailable = kerberos,
        };
    }

    /// <summary>Whether the guest's GSSAPI knows the NTLMSSP mechanism (gss-ntlmssp registers it in /etc/gss/mech.d).</summary>
    public static bool NtlmMechanismInstalled(string root = "/etc/gss")
    {
        var files = new List<string>();
        if (File.Exists(Path.Combine(root, "mech")))
        {
            files.Add(Path.Combine(root, "mech"));
        }

        if (Directory.Exists(Path.Combine(root, "mech.d")))
        {
            files.AddRange(Directory.EnumerateFiles(Path.Combine(root, "mech.d"), "*.conf"));
        }

        foreach (var path in files)
        {
            try
            {
                foreach (var line in File.ReadLines(path))
                {
                    var fields = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length >= 3 && !fields[0].StartsWith('#') && fields[1] == "1.3.6.1.4.1.311.2.2.10" && File.Exists(fields[2]))
                    {
                        return true;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return false;
    }

    private static bool Set(string name, string value)
    {
        if (LibC.SetEnv(name, value, 1) != 0)
        {
            return false;
        }

        Environment.SetEnvironmentVariable(name, value); // keep the managed view in step
        return true;
    }

    private static bool LogMissingFalse(ILogger logger, string keytab)
    {
        LogMissing(logger, "Kerberos keytab", keytab);
        return false;
    }

    [LoggerMessage(EventId = 5510, Level = LogLevel.Warning, Message = "SSPI: the {What} {Path} does not exist; that mechanism is off")]
    private static partial void LogMissing(ILogger logger, string what, string path);

    [LoggerMessage(EventId = 5511, Level = LogLevel.Warning, Message = "SSPI: the NTLM user file {Path} can be read or written by others than its owner; make it 0600")]
    private static partial void LogReadableByOthers(ILogger logger, string path);

    [LoggerMessage(EventId = 5512, Level = LogLevel.Warning, Message = "SSPI: NTLM is off: GSSAPI has no NTLMSSP mechanism (install gss-ntlmssp; /etc/gss/mech.d)")]
    private static partial void LogNoNtlmMechanism(ILogger logger);

    [LoggerMessage(EventId = 5513, Level = LogLevel.Information, Message = "SSPI logons: NTLM {Ntlm}, Kerberos {Kerberos}; domains/realms mapped to guest accounts: [{Domains}]; tickets expire after {Ttl:F0} s unused")]
    private static partial void LogMechanisms(ILogger logger, bool ntlm, bool kerberos, string domains, double ttl);
}
