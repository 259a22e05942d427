namespace GuestOps.Vim;

// Guest-operation data objects, fields in wire order.

/// <summary>How a call authenticates inside the guest. Abstract: the concrete type travels as xsi:type.</summary>
public abstract class GuestAuthentication : DynamicData
{
    public bool interactiveSession { get; set; }
}

public sealed class NamePasswordAuthentication : GuestAuthentication
{
    public string username { get; set; } = "";

    /// <summary>Secret: never logged.</summary>
    public string password { get; set; } = "";
}

public sealed class SSPIAuthentication : GuestAuthentication
{
    public string sspiToken { get; set; } = "";
}

public sealed class TicketedSessionAuthentication : GuestAuthentication
{
    /// <summary>Secret: never logged.</summary>
    public string ticket { get; set; } = "";
}

public class GuestFileAttributes : DynamicData
{
    public DateTime? modificationTime { get; set; }
    public bool ShouldSerializemodificationTime() => modificationTime.HasValue;
    public DateTime? accessTime { get; set; }
    public bool ShouldSerializeaccessTime() => accessTime.HasValue;
    public string? symlinkTarget { get; set; }
}

public sealed class GuestPosixFileAttributes : GuestFileAttributes
{
    public int? ownerId { get; set; }
    public bool ShouldSerializeownerId() => ownerId.HasValue;
    public int? groupId { get; set; }
    public bool ShouldSerializegroupId() => groupId.HasValue;
    public long? permissions { get; set; }
    public bool ShouldSerializepermissions() => permissions.HasValue;
}

public sealed class GuestWindowsFileAttributes : GuestFileAttributes
{
    public bool? hidden { get; set; }
    public bool ShouldSerializehidden() => hidden.HasValue;
    public bool? readOnly { get; set; }
    public bool ShouldSerializereadOnly() => readOnly.HasValue;
    public DateTime? createTime { get; set; }
    public bool ShouldSerializecreateTime() => createTime.HasValue;
}

public sealed class GuestFileInfo : DynamicData
{
    public string path { get; set; } = "";

    /// <summary><c>file</c>, <c>directory</c> or <c>symlink</c>.</summary>
    public string type { get; set; } = "";

    public long size { get; set; }

    public GuestFileAttributes attributes { get; set; } = new();
}

public sealed class GuestListFileInfo : DynamicData
{
    [XmlElement("files")]
    public GuestFileInfo[]? files { get; set; }

    public int remaining { get; set; }
}

public sealed class FileTransferInformation : DynamicData
{
    public GuestFileAttributes attributes { get; set; } = new();

    public long size { get; set; }

    public string url { get; set; } = "";
}

public class GuestProgramSpec : DynamicData
{
    public string programPath { get; set; } = "";

    /// <summary>Required on the wire but may be empty; a missing element reads as empty.</summary>
    public string arguments { get; set; } = "";

    public string? workingDirectory { get; set; }

    [XmlElement("envVariables")]
    public string[]? envVariables { get; set; }
}

public sealed class GuestWindowsProgramSpec : GuestProgramSpec
{
    public bool startMinimized { get; set; }
}

public sealed class GuestProcessInfo : DynamicData
{
    public string name { get; set; } = "";
    public long pid { get; set; }
    public string owner { get; set; } = "";
    public string cmdLine { get; set; } = "";
    public DateTime startTime { get; set; }
    public DateTime? endTime { get; set; }
    public bool ShouldSerializeendTime() => endTime.HasValue;
    public int? exitCode { get; set; }
    public bool ShouldSerializeexitCode() => exitCode.HasValue;
}

public sealed class GuestAuthenticationChallenge : GuestOperationsFault
{
    public GuestAuthentication serverChallenge { get; set; } = new SSPIAuthentication();

    public long sessionID { get; set; }
}
