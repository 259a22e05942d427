using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway MIT Kerberos KDC on loopback for the optional Kerberos tests: a database made by <c>kdb5_util create</c>
/// in a temporary directory, principals and keytabs by <c>kadmin.local</c>, and <c>krb5kdc</c> in the foreground on a
/// free loopback port. Every tool runs with <c>KRB5_CONFIG</c> and <c>KRB5_KDC_PROFILE</c> pointing at files in that
/// directory (set on the child process only): nothing under /etc is read or written. <see cref="Krb5Config"/> is the
/// DNS-free client configuration that names this KDC. Dispose stops the KDC and deletes the directory.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ThrowawayKdc : IAsyncDisposable
{
    private const string MasterPassword = "throwaway-master-key";
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _kdc;
    private readonly StringBuilder _kdcOutput;
    private readonly Dictionary<string, string> _environment;

    private ThrowawayKdc(string directory, string realm, int port, Dictionary<string, string> environment, Process kdc, StringBuilder kdcOutput)
    {
        Directory = directory;
        Realm = realm;
        Port = port;
        _environment = environment;
        _kdc = kdc;
        _kdcOutput = kdcOutput;
    }

    /// <summary>The KDC's temporary directory (database, stash, configuration, log, keytabs).</summary>
    public string Directory { get; }

    public string Realm { get; }

    /// <summary>The loopback port the KDC serves on (UDP and TCP).</summary>
    public int Port { get; }

    /// <summary>A krb5.conf naming this realm and KDC, without DNS lookups (for clients: KRB5_CONFIG).</summary>
    public string Krb5Config => Path.Combine(Directory, "krb5.conf");

    /// <summary>What the KDC printed and logged so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            string output;
            lock (_kdcOutput)
            {
                output = _kdcOutput.ToString();
            }

            var log = Path.Combine(Directory, "kdc.log");
            return output + (File.Exists(log) ? File.ReadAllText(log) : "");
        }
    }

    /// <summary>The tools as Debian installs them, or null when one is missing.</summary>
    public static (string Krb5kdc, string Kdb5Util, string KadminLocal)? FindTools()
    {
        var krb5kdc = Find("krb5kdc");
        var kdb5Util = Find("kdb5_util");
        var kadminLocal = Find("kadmin.local");
        return krb5kdc is null || kdb5Util is null || kadminLocal is null ? null : (krb5kdc, kdb5Util, kadminLocal);
    }

    /// <summary>Why the Kerberos tests cannot run here, or null when they can.</summary>
    public static string? MissingToolsMessage() => FindTools() is null
        ? "Optional Kerberos test skipped: it needs MIT Kerberos' krb5kdc and kdb5_util (Debian package krb5-kdc) and kadmin.local "
          + "(Debian package krb5-admin-server); install them with `apt-get install krb5-kdc krb5-admin-server` to run it. "
          + "The test only uses its own temporary configuration (KRB5_CONFIG / KRB5_KDC_PROFILE), never /etc."
        : null;

    /// <summary>Creates the realm's database and starts the KDC; returns once it accepts TCP connections.</summary>
    public static async Task<ThrowawayKdc> StartAsync(string realm = "GUESTOPS.TEST")
    {
        var tools = FindTools() ?? throw new InvalidOperationException(MissingToolsMessage());
        var directory = System.IO.Directory.CreateTempSubdirectory("guestops-it-kdc-").FullName;
        try
        {
            var port = FreeLoopbackPort();
            File.WriteAllText(Path.Combine(directory, "krb5.conf"), $$"""
                [libdefaults]
                    default_realm = {{realm}}
                    dns_lookup_kdc = false
                    dns_lookup_realm = false
                    dns_canonicalize_hostname = false
                    rdns = false
                    udp_preference_limit = 1

                [realms]
                    {{realm}} = {
                        kdc = 127.0.0.1:{{port}}
                    }

                """);
            File.WriteAllText(Path.Combine(directory, "kdc.conf"), $$"""
                [kdcdefaults]
                    kdc_listen = 127.0.0.1:{{port}}
                    kdc_tcp_listen = 127.0.0.1:{{port}}

                [realms]
                    {{realm}} = {
                        database_name = {{directory}}/principal
                        key_stash_file = {{directory}}/stash
                        acl_file = {{directory}}/kadm5.acl
                    }

                [logging]
                    kdc = FILE:{{directory}}/kdc.log
                    admin_server = FILE:{{directory}}/kadmin.log
                    default = FILE:{{directory}}/krb5lib.log

                """);
            var environment = new Dictionary<string, string>
            {
                ["KRB5_CONFIG"] = Path.Combine(directory, "krb5.conf"),
                ["KRB5_KDC_PROFILE"] = Path.Combine(directory, "kdc.conf"),
                ["KRB5CCNAME"] = "FILE:" + Path.Combine(directory, "ccache"),
                ["KRB5_KTNAME"] = "FILE:" + Path.Combine(directory, "default.keytab"),
            };
            await RunAsync(tools.Kdb5Util, ["create", "-s", "-r", realm, "-P", MasterPassword], environment, directory);

            var output = new StringBuilder();
            var start = new ProcessStartInfo(tools.Krb5kdc)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = directory,
            };
            foreach (var argument in new[] { "-n", "-r", realm })
            {
                start.ArgumentList.Add(argument);
            }

            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }

            var kdc = Process.Start(start) ?? throw new InvalidOperationException("krb5kdc did not start.");
            kdc.OutputDataReceived += (_, e) => Append(output, e.Data);
            kdc.ErrorDataReceived += (_, e) => Append(output, e.Data);
            kdc.BeginOutputReadLine();
            kdc.BeginErrorReadLine();
            var result = new ThrowawayKdc(directory, realm, port, environment, kdc, output);
            try
            {
                await result.WaitUntilListeningAsync(TimeSpan.FromSeconds(10));
            }
            catch
            {
                await result.DisposeAsync();
                throw;
            }

            return result;
        }
        catch
        {
            DeleteDirectory(directory);
            throw;
        }
    }

    /// <summary>Adds a user principal (<c>NAME@REALM</c>) with a password.</summary>
    public Task AddUserAsync(string name, string password) => KadminAsync($"addprinc -pw {password} {name}");

    /// <summary>Adds a service principal with random keys and writes them to a new keytab in the KDC's directory; returns its path.</summary>
    public async Task<string> AddServiceAsync(string principal)
    {
        await KadminAsync($"addprinc -randkey {principal}");
        var keytab = Path.Combine(Directory, principal.Replace('/', '_') + ".keytab");
        await KadminAsync($"ktadd -k {keytab} {principal}");
        return keytab;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_kdc.HasExited)
            {
                _kdc.Kill();
                await _kdc.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }
        finally
        {
            _kdc.Dispose();
            DeleteDirectory(Directory);
        }
    }

    private Task KadminAsync(string query) => RunAsync(FindTools()!.Value.KadminLocal, ["-r", Realm, "-q", query], _environment, Directory);

    private async Task WaitUntilListeningAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_kdc.HasExited)
            {
                throw new InvalidOperationException($"krb5kdc exited (code {_kdc.ExitCode}) before it listened on 127.0.0.1:{Port}.{Environment.NewLine}{Log}");
            }

            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port));
                return;
            }
            catch (SocketException) when (clock.Elapsed < timeout)
            {
                await Task.Delay(20);
            }
            catch (SocketException e)
            {
                throw new TimeoutException($"krb5kdc did not listen on 127.0.0.1:{Port} within {timeout.TotalSeconds:0} s ({e.SocketErrorCode}).{Environment.NewLine}{Log}");
            }
        }
    }

    private static async Task RunAsync(string tool, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string directory)
    {
        var argumentList = arguments.ToList();
        var result = await ProcessRunner.RunAsync(tool, argumentList, ToolTimeout, directory, environment);
        if (result.ExitCode != 0 || result.StandardError.Contains("error", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{Path.GetFileName(tool)} {string.Join(' ', argumentList.Select(a => a.StartsWith("addprinc -pw", StringComparison.Ordinal) ? "addprinc -pw ***" : a))} failed: {result}");
        }
    }

    private static int FreeLoopbackPort()
    {
        // A port free for TCP and UDP alike at this moment (the KDC serves both on it).
        for (var attempt = 0; ; attempt++)
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 20)
            {
            }
        }
    }

    private static string? Find(string tool)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin"]);
        return path.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.Append(line).Append('\n');
            }
        }
    }

    private static void DeleteDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
