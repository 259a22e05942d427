using System.Text.Json.Serialization.Metadata;
using GuestOps.Cluster.Accounts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GuestOps.Cluster;

/// <summary>
/// A connection to a running cluster from outside it, as an Orleans client: what an admin command uses to change the
/// cluster's shared state (its grains) without being a member. The client finds the members' gateways through the same
/// membership store as the members do, so at least one member must be running.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host)
    {
        _host = host;
        Grains = host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>How long <see cref="ConnectAsync"/> looks for a member before it gives up.</summary>
    public static TimeSpan ConnectTimeout { get; } = TimeSpan.FromSeconds(15);

    public IGrainFactory Grains { get; }

    /// <summary>Connects to the cluster <paramref name="settings"/> names; a <see cref="ClusterSettingsException"/>
    /// says why when no member answers within <see cref="ConnectTimeout"/>.</summary>
    public static async Task<ClusterConnection> ConnectAsync(ClusterSettings settings, CancellationToken cancellationToken = default)
    {
        var store = settings.Store ?? throw new ArgumentException("The settings name no cluster store.", nameof(settings));
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddFilter(_ => false); // an admin command prints its own lines; the client's would bury them
        builder.UseOrleansClient(client => client.UseGuestOpsCluster(store));

        var host = builder.Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await host.StartAsync(timeout.Token).ConfigureAwait(false);
            return new ClusterConnection(host);
        }
        catch (Exception e) when (e is not ClusterSettingsException && !cancellationToken.IsCancellationRequested)
        {
            host.Dispose();
            var where = store switch
            {
                RedisStore redis => "redis://" + redis.ConfigurationString,
                PostgreSqlStore postgreSql => postgreSql.Description,
                _ => store.Host,
            };
            throw new ClusterSettingsException(
                $"No member of the cluster at {where} answered within {ConnectTimeout.TotalSeconds:0} s ({e.GetType().Name}: {e.Message}). Start a member first: the cluster's state lives in its members.");
        }
    }

    /// <summary>Connects to the cluster <paramref name="settings"/> names and opens what <paramref name="open"/> builds
    /// on the connection (its documents, joined); the connection is closed when opening fails, and with the result
    /// otherwise.</summary>
    public static async Task<Opened<T>> OpenAsync<T>(ClusterSettings settings, Func<ClusterConnection, CancellationToken, Task<T>> open, CancellationToken cancellationToken = default)
    {
        var connection = await ConnectAsync(settings, cancellationToken).ConfigureAwait(false);
        try
        {
            return new Opened<T>(connection, await open(connection, cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The cluster's document <paramref name="name"/>, joined: a cluster that has none yet is seeded with
    /// <paramref name="seed"/>, as its first member would seed it.</summary>
    public async Task<ClusterDocument<T>> JoinAsync<T>(string name, JsonTypeInfo<T> json, T seed, CancellationToken cancellationToken)
        where T : class
    {
        var document = new ClusterDocument<T>(Grains, name, json, seed);
        await document.JoinAsync(cancellationToken).ConfigureAwait(false);
        return document;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        finally
        {
            _host.Dispose();
        }
    }
}

/// <summary>What <see cref="ClusterConnection.OpenAsync"/> opened, and the connection it goes through (closed with it).</summary>
public sealed record Opened<T>(ClusterConnection Connection, T Value) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
