using System.Net;
using System.Net.Sockets;
using GuestOps.Cluster.Events;
using GuestOps.Cluster.Sessions;
using GuestOps.Cluster.Storage;
using GuestOps.Cluster.Transfers;
using GuestOps.Host.Events;
using GuestOps.Host.Sessions;
using GuestOps.Host.Transfers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace GuestOps.Cluster;

/// <summary>
/// Makes this process a member (an Orleans silo) of the cluster its <see cref="ClusterSettings.Store"/> names: membership
/// and grain state in Redis or in PostgreSQL (<see cref="PostgreSqlStoreHosting"/>); the silo-to-silo and gateway ports
/// picked free on this machine and advertised through the membership table, so processes started by hand need no port
/// settings. The host agent's shared state then lives in grains: sessions (<see cref="GrainSessionTable"/>), transfer
/// tokens (<see cref="ClusterTransferTokens"/>) and the event history (<see cref="ClusterEventHistory"/>), registered in
/// place of the single process's.
/// </summary>
public static class ClusterHosting
{
    /// <summary>The Orleans cluster and service id: one GuestOps cluster per membership store.</summary>
    public const string ClusterId = "guestops";

    /// <param name="stateDirectory">This member's state directory, where it keeps its ports for its next start
    /// (<see cref="MemberPorts"/>).</param>
    public static IHostApplicationBuilder AddGuestOpsCluster(this IHostApplicationBuilder builder, ClusterSettings settings, string stateDirectory, TimeSpan transferLifetime, int maxEvents)
    {
        var store = settings.Store ?? throw new ArgumentException("The settings name no cluster store.", nameof(settings));
        var advertised = AdvertisedAddress(store.Host);
        var (siloPort, gatewayPort) = MemberPorts(advertised, Path.Combine(stateDirectory, PortsFile));

        // The Information lines of Orleans and of its retry pipelines (Polly: one per grain placement) would bury the server's.
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        if (store is PostgreSqlStore postgreSql)
        {
            // Registered before the silo, so its tables exist when the silo starts.
            builder.Services.AddHostedService(_ => new PostgreSqlSchema(postgreSql));
        }

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ClusterId;
            });
            silo.Configure<SiloOptions>(o => o.SiloName = $"{settings.HostName}-{siloPort}");
            silo.ConfigureEndpoints(advertised, siloPort, gatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertised));
            switch (store)
            {
                case RedisStore redisStore:
                    var redis = ConfigurationOptions.Parse(redisStore.ConfigurationString);
                    silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
                    silo.AddRedisGrainStorage(ClusterStorage.Name, o =>
                    {
                        o.ConfigurationOptions = redis.Clone();
                        o.DeleteStateOnClear = true;
                    });
                    break;
                case PostgreSqlStore postgreSqlStore:
                    silo.UsePostgreSqlStore(postgreSqlStore);
                    break;
                default:
                    throw new ArgumentException($"Unknown cluster store {store.GetType().Name}.", nameof(settings));
            }
        });

        builder.Services.AddSingleton(new EventHistoryOptions(maxEvents));
        builder.Services.AddSingleton<ISessionTable>(sp => new GrainSessionTable(sp.GetRequiredService<IGrainFactory>()));
        builder.Services.AddSingleton<ITransferTokens>(sp => new ClusterTransferTokens(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<TimeProvider>(), transferLifetime));
        builder.Services.AddSingleton(sp => new ClusterEventHistory(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<EventHistoryOptions>(), sp.GetRequiredService<ILogger<ClusterEventHistory>>()));
        builder.Services.AddSingleton<IEventHistory>(sp => sp.GetRequiredService<ClusterEventHistory>());
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ClusterEventHistory>());
        return builder;
    }

    /// <summary>Makes an Orleans client (not a member) find the members of the cluster in <paramref name="store"/>: the
    /// same cluster id and membership store as <see cref="AddGuestOpsCluster"/> gives the members.</summary>
    public static IClientBuilder UseGuestOpsCluster(this IClientBuilder client, ClusterStore store)
    {
        client.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = ClusterId;
            o.ServiceId = ClusterId;
        });
        return store switch
        {
            RedisStore redis => client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis.ConfigurationString)),
            PostgreSqlStore postgreSql => client.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgreSqlStoreHosting.Invariant;
                o.ConnectionString = postgreSql.ConnectionString;
            }),
            _ => throw new ArgumentException($"Unknown cluster store {store.GetType().Name}.", nameof(store)),
        };
    }

    /// <summary>The address other members reach this one at: loopback when the store is on this machine's loopback
    /// (a cluster of processes on one machine), else this machine's first IPv4 address that is up.</summary>
    private static IPAddress AdvertisedAddress(string storeHost)
    {
        var storeAddresses = IPAddress.TryParse(storeHost, out var literal) ? [literal] : Dns.GetHostAddresses(storeHost);
        if (storeAddresses.Length > 0 && storeAddresses.All(IPAddress.IsLoopback))
        {
            return IPAddress.Loopback;
        }

        return System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? IPAddress.Loopback;
    }

    /// <summary>The file in a member's state directory that keeps its silo and gateway ports.</summary>
    public const string PortsFile = "cluster-ports";

    /// <summary>
    /// The ports this member used last time (kept in <paramref name="path"/>) while both are still free, else two new
    /// free ports, which are kept for the next start. A member restarted on its old address and silo port replaces its
    /// previous incarnation at once: Orleans declares an older silo of the same address dead when the newer one joins,
    /// instead of after the failed probes a new address would wait for (a killed host agent's VMs come back sooner).
    /// </summary>
    internal static (int Silo, int Gateway) MemberPorts(IPAddress address, string path)
    {
        if (ReadPorts(path) is { } kept && ArePortsFree(address, kept.Silo, kept.Gateway))
        {
            return kept;
        }

        var ports = FreePorts(address);
        try
        {
            File.WriteAllText(path, FormattableString.Invariant($"{ports.Silo} {ports.Gateway}\n"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only the next start's speed depends on the file.
        }

        return ports;
    }

    private static (int Silo, int Gateway)? ReadPorts(string path)
    {
        try
        {
            var parts = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return parts.Length == 2
                && int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var silo)
                && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var gateway)
                && silo is > 0 and <= IPEndPoint.MaxPort && gateway is > 0 and <= IPEndPoint.MaxPort && silo != gateway
                ? (silo, gateway)
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool ArePortsFree(IPAddress address, int silo, int gateway)
    {
        try
        {
            using var first = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            using var second = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            first.Bind(new IPEndPoint(address, silo));
            second.Bind(new IPEndPoint(address, gateway));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Two distinct ports free on <paramref name="address"/> now (both held until both are chosen).</summary>
    private static (int Silo, int Gateway) FreePorts(IPAddress address)
    {
        using var first = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var second = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        first.Bind(new IPEndPoint(address, 0));
        second.Bind(new IPEndPoint(address, 0));
        return (((IPEndPoint)first.LocalEndPoint!).Port, ((IPEndPoint)second.LocalEndPoint!).Port);
    }
}
