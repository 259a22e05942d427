namespace GuestOps.Vim;

/// <summary>What <c>RetrieveServiceContent</c> returns (element order as in the WSDL).</summary>
public sealed class ServiceContent : DynamicData
{
    public ManagedObjectReference rootFolder { get; set; } = new();
    public ManagedObjectReference propertyCollector { get; set; } = new();
    public ManagedObjectReference? viewManager { get; set; }
    public AboutInfo about { get; set; } = new();
    public ManagedObjectReference? setting { get; set; }
    public ManagedObjectReference? userDirectory { get; set; }
    public ManagedObjectReference? sessionManager { get; set; }
    public ManagedObjectReference? authorizationManager { get; set; }
    public ManagedObjectReference? serviceManager { get; set; }
    public ManagedObjectReference? perfManager { get; set; }
    public ManagedObjectReference? scheduledTaskManager { get; set; }
    public ManagedObjectReference? alarmManager { get; set; }
    public ManagedObjectReference? eventManager { get; set; }
    public ManagedObjectReference? taskManager { get; set; }
    public ManagedObjectReference? extensionManager { get; set; }
    public ManagedObjectReference? customizationSpecManager { get; set; }
    public ManagedObjectReference? customFieldsManager { get; set; }
    public ManagedObjectReference? accountManager { get; set; }
    public ManagedObjectReference? diagnosticManager { get; set; }
    public ManagedObjectReference? licenseManager { get; set; }
    public ManagedObjectReference? searchIndex { get; set; }
    public ManagedObjectReference? fileManager { get; set; }
    public ManagedObjectReference? datastoreNamespaceManager { get; set; }
    public ManagedObjectReference? virtualDiskManager { get; set; }
    public ManagedObjectReference? virtualizationManager { get; set; }
    public ManagedObjectReference? snmpSystem { get; set; }
    public ManagedObjectReference? vmProvisioningChecker { get; set; }
    public ManagedObjectReference? vmCompatibilityChecker { get; set; }
    public ManagedObjectReference? ovfManager { get; set; }
    public ManagedObjectReference? ipPoolManager { get; set; }
    public ManagedObjectReference? dvSwitchManager { get; set; }
    public ManagedObjectReference? hostProfileManager { get; set; }
    public ManagedObjectReference? clusterProfileManager { get; set; }
    public ManagedObjectReference? complianceManager { get; set; }
    public ManagedObjectReference? localizationManager { get; set; }
    public ManagedObjectReference? storageResourceManager { get; set; }
    public ManagedObjectReference? guestOperationsManager { get; set; }
}

public sealed class AboutInfo : DynamicData
{
    public string name { get; set; } = "";
    public string fullName { get; set; } = "";
    public string vendor { get; set; } = "";
    public string version { get; set; } = "";
    public string build { get; set; } = "";
    public string? localeVersion { get; set; }
    public string? localeBuild { get; set; }
    public string osType { get; set; } = "";
    public string productLineId { get; set; } = "";
    public string apiType { get; set; } = "";
    public string apiVersion { get; set; } = "";
    public string? instanceUuid { get; set; }
    public string? licenseProductName { get; set; }
    public string? licenseProductVersion { get; set; }
}

public sealed class UserSession : DynamicData
{
    public string key { get; set; } = "";
    public string userName { get; set; } = "";
    public string fullName { get; set; } = "";
    public DateTime loginTime { get; set; }
    public DateTime lastActiveTime { get; set; }
    public string locale { get; set; } = "";
    public string messageLocale { get; set; } = "";
    public bool? extensionSession { get; set; }
    public bool ShouldSerializeextensionSession() => extensionSession.HasValue;
    public string? ipAddress { get; set; }
    public string? userAgent { get; set; }
    public long? callCount { get; set; }
    public bool ShouldSerializecallCount() => callCount.HasValue;
}
