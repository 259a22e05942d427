using System.Globalization;
using GuestOps.Channel.Enrollment;
using GuestOps.Host.Enrollment;

namespace GuestOps.Server;

/// <summary>
/// Admin commands of the server binary (no SOAP, no running server needed; they read the same settings and state
/// directory as the server and the running server sees their effect at once):
/// <c>GuestOps.Server enroll --vm NAME [--out FILE] [--valid-hours H]</c> writes a one-time enrollment bundle for an
/// external VM; <c>GuestOps.Server revoke --vm NAME</c> revokes the VM's certificate and cancels its unused bundles.
/// </summary>
public static class AdminCommands
{
    public const string Usage = """
        usage: GuestOps.Server enroll --vm NAME|ID [--out FILE] [--valid-hours H] [settings]
               GuestOps.Server revoke --vm NAME|ID [settings]
               GuestOps.Server user|group|role|permission ... (users, groups, roles, permissions; --help for more)

          enroll   creates a one-time enrollment bundle for a VM with Provider=external: the host agent's CA
                   certificate, the worker listener's address, the VM id and a random token (only its hash is kept;
                   it expires after --valid-hours, default 24). Hand the bundle to the VM's owner, who runs
                   `guestops-tools enroll --bundle FILE --out DIR` in the VM. A newer bundle cancels older unused ones.
          revoke   revokes the VM's worker certificate (its worker is disconnected within seconds) and cancels its
                   unused bundles.

          settings: the server's own: appsettings.json, GUESTOPS_* variables, --state-dir DIR, --GuestOps:Name=value.
        """;

    public static bool Handles(IReadOnlyList<string> args) => args.Count > 0 && (args[0] is "enroll" or "revoke" || AccountCommands.Commands.Contains(args[0]));

    /// <summary>Runs the command in <c>args[0]</c>; returns the process exit code (0 ok, 1 failed, 2 usage or settings).</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (AccountCommands.Commands.Contains(args[0]))
        {
            return AccountCommands.Run(args, Console.In, stdout, stderr);
        }

        var command = args[0];
        string? vm = null, output = null;
        var validHours = 24;
        var settings = new List<string>();
        for (var i = 1; i < args.Count; i++)
        {
            string? Next() => i + 1 < args.Count ? args[++i] : null;
            switch (args[i])
            {
                case "--help" or "-h":
                    stdout.WriteLine(Usage);
                    return 0;
                case "--vm":
                    vm = Next();
                    break;
                case "--out" when command == "enroll":
                    output = Next();
                    break;
                case "--valid-hours" when command == "enroll":
                    if (!int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out validHours) || validHours is < 1 or > 720)
                    {
                        return Fail(stderr, "--valid-hours needs a number of hours in 1..720.", usage: true);
                    }

                    break;
                default:
                    settings.Add(args[i]);
                    break;
            }
        }

        if (string.IsNullOrEmpty(vm))
        {
            return Fail(stderr, "--vm NAME is required.", usage: true);
        }

        if (output is not null && output.Length == 0)
        {
            return Fail(stderr, "--out needs a file name.", usage: true);
        }

        try
        {
            var options = GuestOpsServer.ReadOptions(Configuration(settings));
            var index = options.VirtualMachines.FindIndex(v => v.Name == vm);
            if (index < 0)
            {
                index = options.VirtualMachines.Select((v, i) => (v, i)).FirstOrDefault(p => GuestOpsServer.VmId(p.v, p.i) == vm, (null!, -1)).Item2;
            }

            if (index < 0)
            {
                return Fail(stderr, $"No VM named '{vm}' is configured (GuestOps:VirtualMachines). Configured: {string.Join(", ", options.VirtualMachines.Select(v => v.Name))}.");
            }

            var definition = options.VirtualMachines[index];
            var vmId = GuestOpsServer.VmId(definition, index);
            if (!GuestOpsServer.IsExternal(definition))
            {
                return Fail(stderr, $"VM {definition.Name} ({vmId}) does not have Provider=external (GuestOps:VirtualMachines:{index}:Provider); only external VMs enroll.");
            }

            var enrollmentDirectory = EnrollmentStore.DirectoryOf(Path.GetFullPath(options.StateDirectory));
            var store = new EnrollmentStore(enrollmentDirectory);
            if (command == "revoke")
            {
                var count = store.Revoke(vmId);
                stdout.WriteLine($"VM {definition.Name} ({vmId}): {count} certificate(s) revoked and unused enrollment bundles cancelled. A connected worker is disconnected within seconds.");
                return 0;
            }

            var listener = WorkerListenerSettings.From(options)
                ?? throw new GuestOpsConfigurationException("GuestOps:WorkerListenUrl (GUESTOPS_WORKER_LISTEN_URL) is not set: external VMs have no listener to enroll with.");
            if (listener.AdvertisedPort == 0)
            {
                throw new GuestOpsConfigurationException("GuestOps:WorkerListenUrl has port 0: set a fixed port, or GuestOps:WorkerAdvertisedAddress with one.");
            }

            using var ca = CertificateAuthority.LoadOrCreate(enrollmentDirectory);
            var token = store.CreateToken(vmId, TimeSpan.FromHours(validHours));
            var bundle = new EnrollmentBundle
            {
                VmId = vmId,
                VmName = definition.Name,
                Address = listener.AdvertisedAddress,
                ServerName = listener.AdvertisedHost,
                CaCertificate = ca.CertificatePem,
                Token = token.Token,
                Expires = token.Expires,
            };
            var path = Path.GetFullPath(output ?? $"{SafeFileName(definition.Name)}.guestops-enroll.json");
            bundle.Save(path);
            stdout.WriteLine($"Enrollment bundle for VM {definition.Name} ({vmId}) written to {path}");
            stdout.WriteLine($"It holds a one-time token valid until {token.Expires:u}; keep it secret (mode 0600). Workers connect to {bundle.Address}.");
            stdout.WriteLine("In the VM, run:");
            stdout.WriteLine($"  guestops-tools enroll --bundle {Path.GetFileName(path)} --out /etc/guestops-tools");
            stdout.WriteLine($"  guestops-tools --connect {bundle.Address} --tls-cert /etc/guestops-tools/worker.crt --tls-key /etc/guestops-tools/worker.key --tls-ca /etc/guestops-tools/ca.crt");
            return 0;
        }
        catch (GuestOpsConfigurationException e)
        {
            return Fail(stderr, e.Message, code: 2);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            return Fail(stderr, e.Message);
        }
    }

    internal static IConfiguration Configuration(IReadOnlyList<string> settings)
    {
        var environment = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? "Production";
        return new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(GuestOpsServer.EnvironmentSettings())
            .AddCommandLine(settings.ToArray(), GuestOpsOptions.CommandLineSwitches)
            .Build();
    }

    private static string SafeFileName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        return new string(name.Select(c => invalid.Contains(c) || char.IsWhiteSpace(c) ? '_' : c).ToArray());
    }

    private static int Fail(TextWriter stderr, string message, bool usage = false, int code = 1)
    {
        stderr.WriteLine("GuestOps.Server: " + message);
        if (usage)
        {
            stderr.WriteLine(Usage);
            return 2;
        }

        return code;
    }
}
