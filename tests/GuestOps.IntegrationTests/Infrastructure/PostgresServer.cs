using System.Globalization;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL server (Debian's postgresql 15) on a free loopback port, its cluster made by initdb in a
/// temporary directory, with trust authentication and durability off (fsync, synchronous_commit): the membership and
/// grain store of a test's cluster, in the database <see cref="Database"/>. PostgreSQL refuses to run as root, so
/// initdb and the server run as the <c>postgres</c> system user (setpriv, which execs: the process is the server).
/// Stopped (fast shutdown) and removed on dispose.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PostgresServer : IClusterStoreServer
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>The database the cluster's tables go in, made empty at start.</summary>
    public const string Database = "guestops";

    /// <summary>The superuser initdb makes.</summary>
    public const string Superuser = "postgres";

    private const string SystemUser = "postgres";

    private readonly string[] _arguments;

    private BackgroundProcess _server;

    private string _earlierOutput = "";

    private PostgresServer(string[] arguments, string directory, int port)
    {
        _arguments = arguments;
        _server = BackgroundProcess.Start("setpriv", arguments, directory);
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>GUESTOPS_CLUSTER for this server's database, as its superuser.</summary>
    public string ClusterSetting => ConnectionString(Superuser);

    public string Output => _earlierOutput + _server.Output;

    /// <summary>A connection string to <see cref="Database"/> as <paramref name="user"/> (trust: no password).</summary>
    public string ConnectionString(string user) => $"Host=127.0.0.1;Port={Port};Database={Database};Username={user}";

    public static async Task<PostgresServer> StartAsync()
    {
        foreach (var tool in new[] { "initdb", "postgres", "psql" })
        {
            if (!File.Exists(Path.Combine(BinDirectory, tool)))
            {
                Assert.Inconclusive($"{BinDirectory}/{tool} is missing: install Debian's postgresql (.ci/run does).");
            }
        }

        var ids = SystemUserIds();
        if (ids is null)
        {
            Assert.Inconclusive($"There is no '{SystemUser}' system user to run PostgreSQL as (Debian's postgresql package makes it).");
        }

        var (uid, gid) = ids.Value;

        var directory = System.IO.Directory.CreateTempSubdirectory("guestops-postgres-").FullName;
        GuestWorkers.Chown(directory, uid, gid);
        var data = Path.Combine(directory, "data");
        var initdb = await ProcessRunner.RunAsync("setpriv", [.. AsSystemUser, Path.Combine(BinDirectory, "initdb"), "-D", data, "--auth=trust", "-U", Superuser, "-E", "UTF8", "--no-sync"], TimeSpan.FromSeconds(120), directory);
        if (initdb.ExitCode != 0)
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw new InvalidOperationException($"initdb failed: {initdb}");
        }

        var port = LoopbackPort.Free();
        var server = new PostgresServer(
            [.. AsSystemUser, Path.Combine(BinDirectory, "postgres"), "-D", data, "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-k", directory, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            directory,
            port);
        try
        {
            await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
            await server.SqlAsync("postgres", $"CREATE DATABASE {Database}");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs SQL with psql in <paramref name="database"/> as the superuser and returns what it printed (rows
    /// unaligned, without headers); a failure throws with psql's output.</summary>
    public async Task<string> SqlAsync(string database, string sql)
    {
        var run = await ProcessRunner.RunAsync(Path.Combine(BinDirectory, "psql"), [.. PsqlArguments(database), "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], TimeSpan.FromSeconds(30));
        return run.ExitCode == 0 ? run.StandardOutput.Trim() : throw new InvalidOperationException($"psql -c \"{sql}\" failed: {run}");
    }

    /// <summary>psql's arguments to connect to <paramref name="database"/> as the superuser.</summary>
    public IEnumerable<string> PsqlArguments(string database) => ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", Superuser, "-d", database];

    /// <summary>Stops the server (SIGINT: fast shutdown, its tables written out) and starts it again on the same port and
    /// data directory; returns once it accepts connections. Its earlier output is kept in <see cref="Output"/>.</summary>
    public async Task RestartAsync()
    {
        if (!_server.Process.HasExited && GuestWorkers.Signal(_server.Process.Id, 2))
        {
            await _server.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        var earlier = Output;
        _server.Dispose();
        _server = BackgroundProcess.Start("setpriv", _arguments, Directory);
        _earlierOutput = earlier;
        await WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // SIGINT: fast shutdown, the server's own processes end with it.
            if (!_server.Process.HasExited && GuestWorkers.Signal(_server.Process.Id, 2))
            {
                await _server.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
        }
        catch (TimeoutException)
        {
            _server.Process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            _server.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string[] AsSystemUser => ["--reuid", SystemUser, "--regid", SystemUser, "--init-groups", "--"];

    /// <summary>The uid and gid of <see cref="SystemUser"/> from /etc/passwd, or null without one.</summary>
    private static (int Uid, int Gid)? SystemUserIds()
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length > 3 && fields[0] == SystemUser)
            {
                return (int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture));
            }
        }

        return null;
    }

    /// <summary>Waits until psql can run a query, bounded.</summary>
    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_server.Process.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with code {_server.Process.ExitCode}:{Environment.NewLine}{Output}");
            }

            var ready = await ProcessRunner.RunAsync(Path.Combine(BinDirectory, "pg_isready"), ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", Superuser], TimeSpan.FromSeconds(10));
            if (ready.ExitCode == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"postgres did not accept connections on port {Port} within {timeout.TotalSeconds} s:{Environment.NewLine}{Output}");
            }

            await Task.Delay(200);
        }
    }
}
