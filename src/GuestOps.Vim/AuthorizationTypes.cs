namespace GuestOps.Vim;

// Authorization data objects (vim.AuthorizationManager, vim.host.LocalAccountManager), fields in wire order.

/// <summary>A label and a summary (vim.Description).</summary>
public class Description : DynamicData
{
    public string label { get; set; } = "";

    public string summary { get; set; } = "";
}

/// <summary>One privilege of the catalogue (<c>AuthorizationManager.privilegeList</c>).</summary>
public sealed class AuthorizationPrivilege : DynamicData
{
    public string privId { get; set; } = "";

    public bool onParent { get; set; }

    public string name { get; set; } = "";

    public string privGroupName { get; set; } = "";
}

/// <summary>A named set of privileges; system roles have negative ids.</summary>
public sealed class AuthorizationRole : DynamicData
{
    public int roleId { get; set; }

    public bool system { get; set; }

    public string name { get; set; } = "";

    public Description info { get; set; } = new();

    [XmlElement("privilege")]
    public string[]? privilege { get; set; }
}

/// <summary>A role granted to a user or group on an entity, optionally propagating to its descendants.</summary>
public sealed class Permission : DynamicData
{
    public ManagedObjectReference? entity { get; set; }

    public string principal { get; set; } = "";

    public bool group { get; set; }

    public int roleId { get; set; }

    public bool propagate { get; set; }
}

public sealed class PrivilegeAvailability : DynamicData
{
    public string privId { get; set; } = "";

    public bool isGranted { get; set; }
}

public sealed class EntityPrivilege : DynamicData
{
    public ManagedObjectReference entity { get; set; } = new();

    [XmlElement("privAvailability")]
    public PrivilegeAvailability[] privAvailability { get; set; } = [];
}

/// <summary>The privileges a user holds on an entity (FetchUserPrivilegeOnEntities, vSphere 6.5).</summary>
public sealed class UserPrivilegeResult : DynamicData
{
    public ManagedObjectReference entity { get; set; } = new();

    [XmlElement("privileges")]
    public string[]? privileges { get; set; }
}

/// <summary>A local user or group as HostLocalAccountManager takes it.</summary>
public class HostAccountSpec : DynamicData
{
    public string id { get; set; } = "";

    /// <summary>Secret: never logged or stored.</summary>
    public string? password { get; set; }

    public string? description { get; set; }
}

public sealed class HostPosixAccountSpec : HostAccountSpec
{
    public int? posixId { get; set; }
    public bool ShouldSerializeposixId() => posixId.HasValue;
    public bool? shellAccess { get; set; }
    public bool ShouldSerializeshellAccess() => shellAccess.HasValue;
}

/// <summary>anyType wrapper (<c>AuthorizationManager.privilegeList</c> read as a property).</summary>
public sealed class ArrayOfAuthorizationPrivilege
{
    [XmlElement("AuthorizationPrivilege")]
    public AuthorizationPrivilege[] AuthorizationPrivilege { get; set; } = [];
}

/// <summary>anyType wrapper (<c>AuthorizationManager.roleList</c> read as a property).</summary>
public sealed class ArrayOfAuthorizationRole
{
    [XmlElement("AuthorizationRole")]
    public AuthorizationRole[] AuthorizationRole { get; set; } = [];
}
