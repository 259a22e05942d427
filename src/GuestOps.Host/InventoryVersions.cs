namespace GuestOps.Host;

/// <summary>What changed in a host agent's VMs since a version the asker holds
/// (<see cref="InventoryVersions.ChangesSince"/>). <paramref name="Full"/>: <paramref name="Changed"/> is every VM, in
/// the host agent's order, and the asker replaces what it holds; else <paramref name="Changed"/> are the VMs added or
/// changed since that version (in the host agent's order) and <paramref name="Removed"/> the ids of the VMs removed
/// since. The asker holds <paramref name="Version"/> of <paramref name="Epoch"/> afterwards.</summary>
public sealed record InventoryDelta(long Epoch, long Version, bool Full, VmSnapshot[] Changed, string[] Removed);

/// <summary>
/// The versions of a host agent's VMs: an inventory version that grows with every change, the version of each VM's
/// last change and of each removal, so that an asker holding version V receives only what changed since V. The epoch
/// names this instance (a host agent's run): an asker holding a version of another epoch, or one older than the
/// removals still remembered (<see cref="MaxRemovals"/>), receives everything. Thread-safe.
/// </summary>
public sealed class InventoryVersions
{
    /// <summary>Removals remembered; an asker whose version is older than the oldest one forgotten receives everything.</summary>
    public const int MaxRemovals = 1024;

    private readonly Lock _lock = new();
    private readonly Queue<(string Id, long Version)> _removals = new();
    private Entry[] _entries = [];
    private Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private long _version;
    private long _forgotten;

    /// <param name="epoch">This instance's epoch: nonzero, and different from every earlier instance's the askers may
    /// hold (default: a random one).</param>
    public InventoryVersions(long epoch = 0) => Epoch = epoch != 0 ? epoch : Random.Shared.NextInt64(1, long.MaxValue);

    public long Epoch { get; }

    /// <summary>The current version: 0 before the first <see cref="Update"/>.</summary>
    public long Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    /// <summary>Records <paramref name="vms"/> as the VMs now: a VM whose snapshot is not equal to the one recorded, a
    /// new VM and a VM no longer listed each take the next version. Returns whether anything changed.</summary>
    public bool Update(IReadOnlyList<VmSnapshot> vms)
    {
        lock (_lock)
        {
            var next = _version + 1;
            var changed = false;
            if (vms.Count == _entries.Length && SameIds(vms))
            {
                for (var i = 0; i < vms.Count; i++)
                {
                    var entry = _entries[i];
                    if (!ReferenceEquals(entry.Snapshot, vms[i]) && entry.Snapshot != vms[i])
                    {
                        entry.Snapshot = vms[i];
                        entry.Version = next;
                        changed = true;
                    }
                    else
                    {
                        entry.Snapshot = vms[i];
                    }
                }
            }
            else
            {
                var entries = new Entry[vms.Count];
                var byId = new Dictionary<string, Entry>(vms.Count, StringComparer.Ordinal);
                for (var i = 0; i < vms.Count; i++)
                {
                    var vm = vms[i];
                    if (!_byId.TryGetValue(vm.Configuration.Id, out var entry) || byId.ContainsKey(vm.Configuration.Id))
                    {
                        entry = new Entry(vm, next);
                        changed = true;
                    }
                    else if (entry.Snapshot != vm)
                    {
                        entry.Snapshot = vm;
                        entry.Version = next;
                        changed = true;
                    }

                    entries[i] = entry;
                    byId.TryAdd(vm.Configuration.Id, entry);
                }

                foreach (var id in _byId.Keys.Where(id => !byId.ContainsKey(id)))
                {
                    _removals.Enqueue((id, next));
                    changed = true;
                }

                while (_removals.Count > MaxRemovals)
                {
                    _forgotten = _removals.Dequeue().Version;
                }

                _entries = entries;
                _byId = byId;
            }

            if (changed)
            {
                _version = next;
            }

            return changed;
        }
    }

    /// <summary>What changed since <paramref name="version"/> of <paramref name="epoch"/>: everything when the epoch is
    /// not this one's, the version is 0 or not one of this epoch's, or removals since it were forgotten.</summary>
    public InventoryDelta ChangesSince(long epoch, long version)
    {
        lock (_lock)
        {
            if (epoch != Epoch || version <= 0 || version > _version || version < _forgotten)
            {
                return new InventoryDelta(Epoch, _version, true, _entries.Select(e => e.Snapshot).ToArray(), []);
            }

            if (version == _version)
            {
                return new InventoryDelta(Epoch, _version, false, [], []);
            }

            var changed = _entries.Where(e => e.Version > version).Select(e => e.Snapshot).ToArray();
            var removed = _removals.Where(r => r.Version > version).Select(r => r.Id).ToArray();
            return new InventoryDelta(Epoch, _version, false, changed, removed);
        }
    }

    private bool SameIds(IReadOnlyList<VmSnapshot> vms)
    {
        for (var i = 0; i < vms.Count; i++)
        {
            if (!ReferenceEquals(_entries[i].Snapshot.Configuration.Id, vms[i].Configuration.Id) && _entries[i].Snapshot.Configuration.Id != vms[i].Configuration.Id)
            {
                return false;
            }
        }

        return true;
    }

    private sealed class Entry(VmSnapshot snapshot, long version)
    {
        public VmSnapshot Snapshot { get; set; } = snapshot;

        public long Version { get; set; } = version;
    }
}
