namespace GuestOps.Server.Hosting;

/// <summary>Another process holds the lock of the state directory (see <see cref="StateDirectoryLock"/>).</summary>
public sealed class StateDirectoryInUseException(string message) : GuestOpsConfigurationException(message);
