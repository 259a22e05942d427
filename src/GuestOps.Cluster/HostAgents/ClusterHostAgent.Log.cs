using Microsoft.Extensions.Logging;

namespace GuestOps.Cluster.HostAgents;

public sealed partial class ClusterHostAgent
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "Host agent {HostName} connected")]
    private static partial void LogConnected(ILogger logger, string hostName);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Host agent {HostName} is not connected: {Reason}")]
    private static partial void LogDisconnected(ILogger logger, string hostName, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Polling the cluster's host agents failed")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
