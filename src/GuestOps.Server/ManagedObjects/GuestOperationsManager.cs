namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.GuestOperationsManager: references to the three guest managers, readable anonymously.</summary>
public sealed class GuestOperationsManager(string id, GuestAuthManager auth, GuestFileManager files, GuestProcessManager processes, PropertyReader reader)
    : ManagedObject(id, reader)
{
    private static readonly PropertyTable<GuestOperationsManager> Table = new PropertyTable<GuestOperationsManager>()
        .Add("authManager", m => m.AuthManager.Ref, anonymous: true)
        .Add("fileManager", m => m.FileManager.Ref, anonymous: true)
        .Add("processManager", m => m.ProcessManager.Ref, anonymous: true);

    public override PropertyTable Properties => Table;

    public GuestAuthManager AuthManager { get; } = auth;

    public GuestFileManager FileManager { get; } = files;

    public GuestProcessManager ProcessManager { get; } = processes;
}
