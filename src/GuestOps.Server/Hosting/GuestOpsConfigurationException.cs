namespace GuestOps.Server.Hosting;

/// <summary>A setting is wrong; the message names it. The server prints it and exits instead of serving.</summary>
public class GuestOpsConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
