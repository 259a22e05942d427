using Microsoft.Extensions.Hosting;
using Npgsql;

namespace GuestOps.Cluster;

/// <summary>
/// Makes the cluster's tables in the PostgreSQL database of <see cref="PostgreSqlStore"/> before this process's silo
/// starts: membership, grain state, and the statements Orleans' ADO.NET providers read from them
/// (PostgreSqlSchema.sql, embedded). Applied only when <c>guestops_schema</c> holds another version, in one transaction
/// under an advisory lock, so members starting at once apply it once. A database that cannot be reached, or tables
/// that cannot be made, stop the start with a <see cref="ClusterSettingsException"/> naming GUESTOPS_CLUSTER, within
/// <see cref="ConnectTimeout"/> and <see cref="CommandTimeout"/> a statement.
/// </summary>
internal sealed class PostgreSqlSchema(PostgreSqlStore store) : IHostedService
{
    /// <summary>The version of PostgreSqlSchema.sql: raise it with every change of the script.</summary>
    public const int Version = 1;

    /// <summary>The longest wait for a connection at start (a shorter Timeout in the connection string wins).</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait for the lock and the script.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The advisory lock that serializes members making the tables ("GuestOps" in ASCII).</summary>
    private const long LockKey = 0x47_75_65_73_74_4F_70_73;

    public Task StartAsync(CancellationToken cancellationToken) => EnsureAsync(store, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Applies the script unless the database already has this version of it.</summary>
    public static async Task EnsureAsync(PostgreSqlStore store, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(store.ConnectionString)
        {
            Pooling = false,
            CommandTimeout = (int)CommandTimeout.TotalSeconds,
        };
        builder.Timeout = builder.Timeout is > 0 and var given && given < ConnectTimeout.TotalSeconds ? given : (int)ConnectTimeout.TotalSeconds; // 0 is no limit
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            throw new ClusterSettingsException($"GuestOps:Cluster (GUESTOPS_CLUSTER): cannot connect to the PostgreSQL {store.Description}: {OneLine(e)}");
        }

        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await ExecuteAsync(connection, transaction, $"SET LOCAL lock_timeout = '{(int)CommandTimeout.TotalSeconds}s'; SELECT pg_advisory_xact_lock({LockKey})", cancellationToken);
            if (await InstalledVersionAsync(connection, transaction, cancellationToken) != Version)
            {
                await ExecuteAsync(connection, transaction, Script(), cancellationToken);
                await ExecuteAsync(connection, transaction, $"DELETE FROM guestops_schema; INSERT INTO guestops_schema (version) VALUES ({Version})", cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            throw new ClusterSettingsException($"GuestOps:Cluster (GUESTOPS_CLUSTER): cannot make the cluster's tables in the PostgreSQL {store.Description}: {OneLine(e)}");
        }
    }

    /// <summary>The version in <c>guestops_schema</c>, or null before the first start.</summary>
    private static async Task<int?> InstalledVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass('guestops_schema') IS NOT NULL", connection, transaction);
        if (await command.ExecuteScalarAsync(cancellationToken) is not true)
        {
            return null;
        }

        command.CommandText = "SELECT max(version) FROM guestops_schema";
        return await command.ExecuteScalarAsync(cancellationToken) is int version ? version : null;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Script()
    {
        using var stream = typeof(PostgreSqlSchema).Assembly.GetManifestResourceStream("GuestOps.Cluster.PostgreSqlSchema.sql")
            ?? throw new InvalidOperationException("PostgreSqlSchema.sql is not embedded in GuestOps.Cluster.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The exception's message and its causes', on one line.</summary>
    private static string OneLine(Exception e)
    {
        var parts = new List<string>();
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            // A server's error without its detail lines (POSITION, DETAIL).
            var message = cause is PostgresException server ? $"{server.SqlState}: {server.MessageText}" : cause.Message;
            if (!parts.Contains(message))
            {
                parts.Add(message);
            }
        }

        return string.Join(": ", parts).ReplaceLineEndings(" ");
    }
}
