namespace GuestOps.Cluster;

/// <summary>What one GuestOps process is in a cluster (<c>GUESTOPS_ROLE</c>).</summary>
public enum ProcessRole
{
    /// <summary>Front end and host agent in one process: the single-process server, or one member of a cluster.</summary>
    All,

    /// <summary>HTTPS, SOAP and /guestFile only; holds no per-client state and runs no VMs.</summary>
    FrontEnd,

    /// <summary>The VMs of one machine: dispatchers, providers, workers.</summary>
    HostAgent,
}

/// <summary>The cluster's membership and grain store: where members find each other and persisted grain state lives.</summary>
public abstract record ClusterStore
{
    /// <summary>The host the store is reached at (a name or an address), from which a member picks the address it
    /// advertises to the others.</summary>
    public abstract string Host { get; }
}

/// <summary>A Redis server as the cluster's membership and grain store (<c>redis://HOST:PORT</c>).</summary>
public sealed record RedisStore(string Host, int Port) : ClusterStore
{
    /// <inheritdoc />
    public override string Host { get; } = Host;

    /// <summary>The StackExchange.Redis configuration string for this server.</summary>
    public string ConfigurationString => $"{Host}:{Port}";
}

/// <summary>A PostgreSQL database as the cluster's membership and grain store, named by an Npgsql connection string
/// (<c>Host=db;Database=guestops;Username=guestops;Password=...</c>).</summary>
public sealed record PostgreSqlStore(string ConnectionString) : ClusterStore
{
    /// <summary>The first host of the connection string without its port; a unix socket directory is this machine.</summary>
    public override string Host
    {
        get
        {
            var first = (new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString).Host ?? "").Split(',')[0].Trim();
            if (first.StartsWith('/') || first.StartsWith('@'))
            {
                return "localhost";
            }

            if (first.StartsWith('[') && first.IndexOf(']', StringComparison.Ordinal) is > 0 and var close)
            {
                return first[1..close];
            }

            var colon = first.LastIndexOf(':');
            return colon > 0 && first.IndexOf(':', StringComparison.Ordinal) == colon ? first[..colon] : first;
        }
    }

    /// <summary>The database and its server, for messages: never the password.</summary>
    public string Description
    {
        get
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
            return $"database '{builder.Database}' at {builder.Host}:{builder.Port}";
        }
    }

    /// <summary>Without the connection string, which may hold a password.</summary>
    public override string ToString() => $"{nameof(PostgreSqlStore)} {{ {Description} }}";
}

/// <summary>The cluster settings of one process, read and checked: its role, the membership store (null: the single
/// process, no Orleans), the name of its HostSystem, and the names of the demo VMs a host agent creates (null: the
/// configured VirtualMachines).</summary>
public sealed record ClusterSettings(ProcessRole Role, ClusterStore? Store, string HostName, IReadOnlyList<string>? DemoVms)
{
    /// <summary>The longest VM name vSphere accepts.</summary>
    public const int MaxVmNameLength = 80;

    /// <summary>Whether this process joins a cluster.</summary>
    public bool Clustered => Store is not null;

    /// <summary>Reads the four settings; a refusal is a <see cref="ClusterSettingsException"/> whose one-line message
    /// names the setting and its environment variable.</summary>
    public static ClusterSettings Parse(string? role, string? cluster, string? hostName, string? demoVms)
    {
        var parsedRole = ParseRole(role);
        var store = string.IsNullOrWhiteSpace(cluster) ? null : ParseStore(cluster.Trim());
        if (store is null && parsedRole != ProcessRole.All)
        {
            throw new ClusterSettingsException($"GuestOps:Role (GUESTOPS_ROLE) '{role!.Trim()}' needs GuestOps:Cluster (GUESTOPS_CLUSTER), the cluster's membership store, e.g. redis://127.0.0.1:6379 or a PostgreSQL connection string Host=127.0.0.1;Database=guestops;Username=guestops;Password=...");
        }

        return new ClusterSettings(parsedRole, store, ParseHostName(hostName), demoVms is null ? null : ParseDemoVms(demoVms));
    }

    private static ProcessRole ParseRole(string? role) => role?.Trim().ToLowerInvariant() switch
    {
        null or "" or "all" => ProcessRole.All,
        "frontend" => ProcessRole.FrontEnd,
        "hostagent" => ProcessRole.HostAgent,
        _ => throw new ClusterSettingsException($"GuestOps:Role (GUESTOPS_ROLE) '{role}' is not one of all, frontend, hostagent."),
    };

    private static ClusterStore ParseStore(string cluster)
    {
        if (cluster.StartsWith("redis://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(cluster, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || uri.AbsolutePath is not ("" or "/") || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
            {
                throw new ClusterSettingsException($"GuestOps:Cluster (GUESTOPS_CLUSTER) '{cluster}' is not of the form redis://HOST:PORT.");
            }

            return new RedisStore(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
        }

        if (IsPostgreSqlConnectionString(cluster))
        {
            return ParsePostgreSql(cluster);
        }

        throw new ClusterSettingsException($"GuestOps:Cluster (GUESTOPS_CLUSTER) '{cluster}' is neither redis://HOST:PORT nor a PostgreSQL connection string (Host=...;Database=...).");
    }

    /// <summary>An ADO.NET connection string naming a host, as Npgsql takes it (<c>Host=db;Database=guestops;...</c>).</summary>
    private static bool IsPostgreSqlConnectionString(string cluster) =>
        cluster.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .Any(kv => kv.Length == 2 && kv[0].Trim().ToLowerInvariant() is "host" or "server" && kv[1].Trim().Length > 0);

    /// <summary>Checks the connection string as Npgsql reads it. A refusal names what is wrong but never repeats the
    /// string, which may hold a password.</summary>
    private static PostgreSqlStore ParsePostgreSql(string cluster)
    {
        Npgsql.NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new Npgsql.NpgsqlConnectionStringBuilder(cluster);
        }
        catch (ArgumentException e)
        {
            // Npgsql names the keyword it could not set; the cause is an unknown keyword or a value of the wrong form.
            var problem = e.InnerException is KeyNotFoundException or null
                ? $"'{e.ParamName}' is not one of its keywords"
                : $"{e.ParamName}: {e.InnerException.Message}";
            throw new ClusterSettingsException($"GuestOps:Cluster (GUESTOPS_CLUSTER) is not a PostgreSQL connection string that Npgsql accepts: {problem.ReplaceLineEndings(" ")}");
        }

        if (string.IsNullOrWhiteSpace(builder.Database))
        {
            throw new ClusterSettingsException($"GuestOps:Cluster (GUESTOPS_CLUSTER): the PostgreSQL connection string names no Database; the cluster's tables need a database, e.g. Host={builder.Host};Database=guestops.");
        }

        return new PostgreSqlStore(builder.ConnectionString);
    }

    private static string ParseHostName(string? hostName)
    {
        if (hostName is null)
        {
            return Environment.MachineName;
        }

        var trimmed = hostName.Trim();
        return trimmed.Length > 0 && trimmed.Length <= MaxVmNameLength && !trimmed.Any(char.IsControl)
            ? trimmed
            : throw new ClusterSettingsException($"GuestOps:HostName (GUESTOPS_HOST_NAME) '{hostName}' must be 1 to {MaxVmNameLength} printable characters.");
    }

    private static IReadOnlyList<string> ParseDemoVms(string demoVms)
    {
        var names = demoVms.Split(',').Select(n => n.Trim()).ToList();
        if (names.FirstOrDefault(n => n.Length == 0 || n.Length > MaxVmNameLength || n.Any(char.IsControl)) is { } bad)
        {
            throw new ClusterSettingsException($"GuestOps:DemoVms (GUESTOPS_DEMO_VMS) '{demoVms}': '{bad}' is not a VM name (1 to {MaxVmNameLength} printable characters, names separated by commas).");
        }

        if (names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ClusterSettingsException($"GuestOps:DemoVms (GUESTOPS_DEMO_VMS) '{demoVms}' names VM '{twice.Key}' twice.");
        }

        return names;
    }
}

/// <summary>A cluster setting that cannot be used; the message names it.</summary>
public sealed class ClusterSettingsException(string message) : Exception(message);
