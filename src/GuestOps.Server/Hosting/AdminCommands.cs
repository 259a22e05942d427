using System.CommandLine;
using GuestOps.Channel.Enrollment;
using GuestOps.Channel.Transport;
using GuestOps.Cluster;
using GuestOps.Cluster.Accounts;
using GuestOps.Cluster.Enrollment;
using GuestOps.Host.Enrollment;

namespace GuestOps.Server.Hosting;

/// <summary>
/// Admin commands of the server binary (no SOAP, no running server needed; they read the same settings and state
/// directory as the server and the running server sees their effect at once):
/// <c>GuestOps.Server enroll --vm NAME [--out FILE] [--valid-hours H]</c> writes a one-time enrollment bundle for an
/// external VM; <c>GuestOps.Server revoke --vm NAME</c> revokes the VM's certificate and cancels its unused bundles.
/// </summary>
public static class AdminCommands
{
    public static Command Enroll(ServerCommandLine commandLine, TextWriter stdout, TextWriter stderr)
    {
        var vm = VmOption();
        var output = new Option<string?>("--out") { Description = "Where to write the bundle [default: NAME.guestops-enroll.json in the working directory]" };
        var validHours = new Option<int>("--valid-hours") { Description = "Hours the bundle's one-time token stays valid (1..720)", DefaultValueFactory = _ => 24 };
        validHours.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 720)
            {
                result.AddError("--valid-hours needs a number of hours in 1..720.");
            }
        });
        var addresses = new Option<string?>("--addresses")
        {
            Description = "The worker listeners the VM's worker may connect to, tried in this order: tcp:HOST:PORT,tcp:HOST:PORT "
                + "(in a cluster, every host agent configured with the VM) [default: this host agent's]",
        };
        var command = new Command(
            "enroll",
            "Creates a one-time enrollment bundle for a VM with Provider=external: the host agent's CA certificate, the worker "
            + "listener's address, the VM id and a random token (only its hash is kept; it expires after --valid-hours). Hand the "
            + "bundle to the VM's owner, who runs `guestops-tools enroll --bundle FILE --out DIR` in the VM. A newer bundle cancels older unused ones.")
        {
            vm, output, validHours, addresses,
        };
        command.SetAction((result, cancellationToken) => RunAsync("enroll", result.GetValue(vm)!, result.GetValue(output), result.GetValue(validHours), result.GetValue(addresses), commandLine.Settings(result), stdout, stderr, cancellationToken));
        return command;
    }

    public static Command Revoke(ServerCommandLine commandLine, TextWriter stdout, TextWriter stderr)
    {
        var vm = VmOption();
        var command = new Command("revoke", "Revokes the VM's worker certificate (its worker is disconnected within seconds) and cancels its unused enrollment bundles.") { vm };
        command.SetAction((result, cancellationToken) => RunAsync("revoke", result.GetValue(vm)!, null, 0, null, commandLine.Settings(result), stdout, stderr, cancellationToken));
        return command;
    }

    private static Option<string> VmOption() => new("--vm") { Description = "The VM: its configured name or id (vm-N; in a cluster vm- and 16 hex digits)", Required = true };

    /// <summary>Runs enroll or revoke; returns the process exit code (0 ok, 1 failed, 2 settings).</summary>
    private static async Task<int> RunAsync(string command, string vm, string? output, int validHours, string? addresses, IReadOnlyList<string> settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (output is not null && output.Length == 0)
        {
            return Fail(stderr, "--out needs a file name.", code: ServerCommandLine.UsageExitCode);
        }

        try
        {
            var options = GuestOpsSettings.ReadOptions(Configuration(settings));
            var clusterHost = ClusterHost(options);
            var index = options.VirtualMachines.FindIndex(v => v.Name == vm);
            if (index < 0)
            {
                index = options.VirtualMachines.Select((v, i) => (v, i)).FirstOrDefault(p => GuestOpsSettings.VmId(p.v, p.i, clusterHost) == vm, (null!, -1)).Item2;
            }

            if (index < 0)
            {
                return Fail(stderr, $"No VM named '{vm}' is configured (GuestOps:VirtualMachines). Configured: {string.Join(", ", options.VirtualMachines.Select(v => v.Name))}.");
            }

            var definition = options.VirtualMachines[index];
            var vmId = GuestOpsSettings.VmId(definition, index, clusterHost);
            if (!GuestOpsSettings.IsExternal(definition))
            {
                return Fail(stderr, $"VM {definition.Name} ({vmId}) does not have Provider=external (GuestOps:VirtualMachines:{index}:Provider); only external VMs enroll.");
            }

            var enrollmentDirectory = EnrollmentStore.DirectoryOf(Path.GetFullPath(options.StateDirectory));
            await using var cluster = clusterHost is null ? null : await ClusterEnrollmentAsync(options, enrollmentDirectory, cancellationToken);
            var store = cluster is null ? new EnrollmentStore(enrollmentDirectory) : new EnrollmentStore(cluster.Value);
            if (command == "revoke")
            {
                var count = await store.RevokeAsync(vmId, cancellationToken);
                stdout.WriteLine($"VM {definition.Name} ({vmId}): {count} certificate(s) revoked and unused enrollment bundles cancelled. A connected worker is disconnected within seconds.");
                return 0;
            }

            var listener = WorkerListenerSettings.From(options)
                ?? throw new GuestOpsConfigurationException("GuestOps:WorkerListenUrl (GUESTOPS_WORKER_LISTEN_URL) is not set: external VMs have no listener to enroll with.");
            if (listener.AdvertisedPort == 0)
            {
                throw new GuestOpsConfigurationException("GuestOps:WorkerListenUrl has port 0: set a fixed port, or GuestOps:WorkerAdvertisedAddress with one.");
            }

            var listed = ListenerAddresses(listener.AdvertisedAddress, addresses);
            var caCertificate = cluster?.Value.Current.Value.CaCertificate ?? ReadCaCertificate(enrollmentDirectory);
            var token = await store.CreateTokenAsync(vmId, TimeSpan.FromHours(validHours), cancellationToken);
            var bundle = new EnrollmentBundle
            {
                VmId = vmId,
                VmName = definition.Name,
                Address = listed[0],
                Addresses = listed.Count > 1 ? listed : null,
                ServerName = listener.AdvertisedHost,
                CaCertificate = caCertificate,
                Token = token.Token,
                Expires = token.Expires,
            };
            var path = Path.GetFullPath(output ?? $"{SafeFileName(definition.Name)}.guestops-enroll.json");
            bundle.Save(path);
            stdout.WriteLine($"Enrollment bundle for VM {definition.Name} ({vmId}) written to {path}");
            stdout.WriteLine($"It holds a one-time token valid until {token.Expires:u}; keep it secret (mode 0600). Workers connect to {string.Join(", ", bundle.AllAddresses())}.");
            stdout.WriteLine("In the VM, run:");
            stdout.WriteLine($"  guestops-tools enroll --bundle {Path.GetFileName(path)} --out /etc/guestops-tools");
            stdout.WriteLine($"  guestops-tools --connect {string.Join(",", bundle.AllAddresses())} --tls-cert /etc/guestops-tools/worker.crt --tls-key /etc/guestops-tools/worker.key --tls-ca /etc/guestops-tools/ca.crt");
            return 0;
        }
        catch (Exception e) when (IsRefusal(e))
        {
            return Refuse(stderr, e);
        }
    }

    /// <summary>The cluster's enrollment document (its CA and records, which every host agent issues and checks with),
    /// reached as an Orleans client of the running cluster; a cluster that has none yet is seeded with this state
    /// directory's, as its first host agent would.</summary>
    private static Task<Opened<ClusterDocument<EnrollmentDocument>>> ClusterEnrollmentAsync(GuestOpsOptions options, string enrollmentDirectory, CancellationToken cancellationToken) =>
        ClusterConnection.OpenAsync(
            ClusterSettings.Parse(options.Role, options.Cluster, options.HostName, options.DemoVms),
            (connection, cancellationToken) => connection.JoinAsync(ClusterEnrollment.DocumentName, EnrollmentStore.DocumentJson, EnrollmentStore.SeedDocument(enrollmentDirectory), cancellationToken),
            cancellationToken);

    private static string ReadCaCertificate(string enrollmentDirectory)
    {
        using var ca = CertificateAuthority.LoadOrCreate(enrollmentDirectory);
        return ca.CertificatePem;
    }

    /// <summary>This host agent's host name when it is a member of a cluster (its VMs' ids derive from it), else null.</summary>
    private static string? ClusterHost(GuestOpsOptions options)
    {
        try
        {
            var cluster = ClusterSettings.Parse(options.Role, options.Cluster, options.HostName, options.DemoVms);
            return cluster.Clustered ? cluster.HostName : null;
        }
        catch (ClusterSettingsException e)
        {
            throw new GuestOpsConfigurationException(e.Message, e);
        }
    }

    /// <summary>The bundle's listeners: <paramref name="listed"/> (comma-separated tcp:HOST:PORT) when given, else this
    /// host agent's <paramref name="advertised"/> one.</summary>
    internal static IReadOnlyList<string> ListenerAddresses(string advertised, string? listed)
    {
        if (listed is null)
        {
            return [advertised];
        }

        var addresses = listed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToArray();
        foreach (var address in addresses)
        {
            try
            {
                if (ChannelEndpoint.Parse(address).Kind != ChannelTransportKind.Tcp)
                {
                    throw new FormatException("not tcp");
                }
            }
            catch (FormatException)
            {
                throw new GuestOpsConfigurationException($"--addresses: '{address}' is not tcp:HOST:PORT.");
            }
        }

        return addresses.Length > 0 ? addresses : throw new GuestOpsConfigurationException("--addresses needs at least one tcp:HOST:PORT.");
    }

    internal static IConfiguration Configuration(IReadOnlyList<string> settings)
    {
        var environment = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? "Production";
        return new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(GuestOpsSettings.EnvironmentSettings())
            .AddCommandLine(settings.ToArray(), GuestOpsOptions.CommandLineSwitches)
            .Build();
    }

    private static string SafeFileName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        return new string(name.Select(c => invalid.Contains(c) || char.IsWhiteSpace(c) ? '_' : c).ToArray());
    }

    /// <summary>Whether an admin command ends on <paramref name="e"/> with <see cref="Refuse"/>: a setting, or a state
    /// directory, store or certificate it cannot use. Anything else is a fault of the program and propagates.</summary>
    internal static bool IsRefusal(Exception e) =>
        e is GuestOpsConfigurationException or ClusterSettingsException or IOException or UnauthorizedAccessException or InvalidDataException
            or System.Text.Json.JsonException or System.Security.Cryptography.CryptographicException;

    /// <summary>Says why on one line of <paramref name="stderr"/>; the exit code is 2 for a setting, else 1.</summary>
    internal static int Refuse(TextWriter stderr, Exception e) =>
        Fail(stderr, e.Message, code: e is GuestOpsConfigurationException or ClusterSettingsException ? 2 : 1);

    internal static int Fail(TextWriter stderr, string message, int code = 1)
    {
        stderr.WriteLine("GuestOps.Server: " + message);
        return code;
    }
}
