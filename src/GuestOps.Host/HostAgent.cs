namespace GuestOps.Host;

/// <summary>
/// The host agent over a fixed set of configured VMs. They are reported powered on; until a tools worker connects
/// (the relay-chain work) their guests report tools not running and guest operations not ready.
/// </summary>
public sealed class HostAgent : IHostAgent
{
    private readonly IReadOnlyList<VmSnapshot> _vms;
    private readonly Dictionary<string, VmSnapshot> _byId;

    public HostAgent(IEnumerable<VmConfiguration> configurations, TimeProvider time)
    {
        var bootTime = time.GetUtcNow().UtcDateTime;
        _vms = configurations.Select(c => new VmSnapshot(c, VmPowerState.PoweredOn, bootTime, GuestAgentState.NotRunning)).ToArray();
        _byId = _vms.ToDictionary(v => v.Configuration.Id, StringComparer.Ordinal);
    }

    public IReadOnlyList<VmSnapshot> ListVirtualMachines() => _vms;

    public VmSnapshot? GetVirtualMachine(string id) => _byId.GetValueOrDefault(id);
}
