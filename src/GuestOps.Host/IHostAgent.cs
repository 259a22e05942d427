namespace GuestOps.Host;

/// <summary>
/// The narrow, message-shaped boundary between the SOAP front end and the host agent (hostd-like).
/// Everything crossing it is an immutable record, so the agent can later live in another process or machine.
/// </summary>
public interface IHostAgent
{
    /// <summary>Every VM this agent runs, in a stable order.</summary>
    IReadOnlyList<VmSnapshot> ListVirtualMachines();

    VmSnapshot? GetVirtualMachine(string id);
}
