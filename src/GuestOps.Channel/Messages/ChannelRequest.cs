using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

/// <summary>
/// A request sent in a <see cref="Framing.FrameType.Request"/> frame. The JSON carries a type tag <c>op</c>, the guest
/// method's name; a peer that does not know the tag answers <see cref="GuestErrorCode.UnknownOperation"/>. To add a
/// guest method: a sealed partial record with a <see cref="GuestMethodAttribute"/>, its
/// <see cref="JsonDerivedTypeAttribute"/> here (System.Text.Json's source generator reads these attributes, so they are
/// written out; the guest-method generator fails the build when one is missing or its tag is not the method's name),
/// its result's on <see cref="ChannelResult"/>, and the worker's handler. The framing never changes.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "op")]
[JsonDerivedType(typeof(ValidateCredentialsRequest), "ValidateCredentialsInGuest")]
[JsonDerivedType(typeof(ListFilesRequest), "ListFilesInGuest")]
[JsonDerivedType(typeof(MakeDirectoryRequest), "MakeDirectoryInGuest")]
[JsonDerivedType(typeof(DeleteFileRequest), "DeleteFileInGuest")]
[JsonDerivedType(typeof(DeleteDirectoryRequest), "DeleteDirectoryInGuest")]
[JsonDerivedType(typeof(MoveFileRequest), "MoveFileInGuest")]
[JsonDerivedType(typeof(MoveDirectoryRequest), "MoveDirectoryInGuest")]
[JsonDerivedType(typeof(CreateTemporaryFileRequest), "CreateTemporaryFileInGuest")]
[JsonDerivedType(typeof(CreateTemporaryDirectoryRequest), "CreateTemporaryDirectoryInGuest")]
[JsonDerivedType(typeof(ChangeFileAttributesRequest), "ChangeFileAttributesInGuest")]
[JsonDerivedType(typeof(StartProgramRequest), "StartProgramInGuest")]
[JsonDerivedType(typeof(ListProcessesRequest), "ListProcessesInGuest")]
[JsonDerivedType(typeof(TerminateProcessRequest), "TerminateProcessInGuest")]
[JsonDerivedType(typeof(ReadEnvironmentRequest), "ReadEnvironmentVariableInGuest")]
[JsonDerivedType(typeof(InitiateUploadRequest), "InitiateFileTransferToGuest")]
[JsonDerivedType(typeof(InitiateDownloadRequest), "InitiateFileTransferFromGuest")]
[JsonDerivedType(typeof(UploadRequest), "FileTransferToGuest")]
[JsonDerivedType(typeof(DownloadRequest), "FileTransferFromGuest")]
[JsonDerivedType(typeof(AcquireCredentialsRequest), "AcquireCredentialsInGuest")]
[JsonDerivedType(typeof(ReleaseCredentialsRequest), "ReleaseCredentialsInGuest")]
public abstract record ChannelRequest
{
    /// <summary>Who the guest should act as; every guest operation carries one.</summary>
    public GuestCredential? Credential { get; init; }

    /// <summary>The operation's wire name (the JSON type tag).</summary>
    [JsonIgnore]
    public abstract string Operation { get; }
}

/// <summary>Marks a request with the result type a successful response carries.</summary>
public interface IChannelRequest<TResult>
    where TResult : ChannelResult
{
}

/// <summary>Authenticate the credential and do nothing else.</summary>
[GuestMethod("ValidateCredentialsInGuest", Privilege = GuestPrivilege.Query)]
public sealed partial record ValidateCredentialsRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
}

/// <summary>
/// List a directory (entries, <c>.</c> and <c>..</c> first) or describe a single file, as the user.
/// </summary>
[GuestMethod("ListFilesInGuest", Privilege = GuestPrivilege.Query, Faults = [GuestErrorCode.FileNotFound, GuestErrorCode.FileAccessError, GuestErrorCode.FileNameTooLong])]
public sealed partial record ListFilesRequest : ChannelRequest, IChannelRequest<ListFilesResult>
{
    /// <summary>The default page size when <see cref="MaxResults"/> is absent.</summary>
    public const int DefaultMaxResults = 50;

    /// <summary>Absolute guest path of a directory or file.</summary>
    public required string Path { get; init; }

    /// <summary>Index of the first entry to return, counted within the pattern-filtered list.</summary>
    public int Index { get; init; }

    /// <summary>Largest number of entries to return; absent means <see cref="DefaultMaxResults"/>.</summary>
    public int? MaxResults { get; init; }

    /// <summary>Regular expression matched against entry names; absent or empty matches everything.</summary>
    public string? MatchPattern { get; init; }
}
