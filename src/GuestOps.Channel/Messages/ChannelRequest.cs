using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

/// <summary>
/// A request sent in a <see cref="Framing.FrameType.Request"/> frame. The JSON carries a type tag <c>op</c>; a peer
/// that does not know the tag answers <see cref="GuestErrorCode.UnknownOperation"/>. To add an operation: derive a
/// sealed record, add a <see cref="JsonDerivedTypeAttribute"/> here and its result type to
/// <see cref="ChannelResult"/>; the framing never changes.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "op")]
[JsonDerivedType(typeof(ValidateCredentialsRequest), ValidateCredentialsRequest.OperationName)]
[JsonDerivedType(typeof(ListFilesRequest), ListFilesRequest.OperationName)]
[JsonDerivedType(typeof(MakeDirectoryRequest), MakeDirectoryRequest.OperationName)]
[JsonDerivedType(typeof(DeleteFileRequest), DeleteFileRequest.OperationName)]
[JsonDerivedType(typeof(DeleteDirectoryRequest), DeleteDirectoryRequest.OperationName)]
[JsonDerivedType(typeof(MoveFileRequest), MoveFileRequest.OperationName)]
[JsonDerivedType(typeof(MoveDirectoryRequest), MoveDirectoryRequest.OperationName)]
[JsonDerivedType(typeof(CreateTemporaryRequest), CreateTemporaryRequest.OperationName)]
[JsonDerivedType(typeof(ChangeFileAttributesRequest), ChangeFileAttributesRequest.OperationName)]
[JsonDerivedType(typeof(StartProgramRequest), StartProgramRequest.OperationName)]
[JsonDerivedType(typeof(ListProcessesRequest), ListProcessesRequest.OperationName)]
[JsonDerivedType(typeof(TerminateProcessRequest), TerminateProcessRequest.OperationName)]
[JsonDerivedType(typeof(ReadEnvironmentRequest), ReadEnvironmentRequest.OperationName)]
[JsonDerivedType(typeof(InitiateUploadRequest), InitiateUploadRequest.OperationName)]
[JsonDerivedType(typeof(InitiateDownloadRequest), InitiateDownloadRequest.OperationName)]
[JsonDerivedType(typeof(UploadRequest), UploadRequest.OperationName)]
[JsonDerivedType(typeof(DownloadRequest), DownloadRequest.OperationName)]
[JsonDerivedType(typeof(AcquireCredentialsRequest), AcquireCredentialsRequest.OperationName)]
[JsonDerivedType(typeof(ReleaseCredentialsRequest), ReleaseCredentialsRequest.OperationName)]
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
public sealed record ValidateCredentialsRequest : ChannelRequest, IChannelRequest<EmptyResult>
{
    public const string OperationName = "validateCredentials";

    [JsonIgnore]
    public override string Operation => OperationName;
}

/// <summary>
/// List a directory (entries, <c>.</c> and <c>..</c> first) or describe a single file, as the user.
/// </summary>
public sealed record ListFilesRequest : ChannelRequest, IChannelRequest<ListFilesResult>
{
    public const string OperationName = "listFiles";

    /// <summary>The default page size when <see cref="MaxResults"/> is absent.</summary>
    public const int DefaultMaxResults = 50;

    [JsonIgnore]
    public override string Operation => OperationName;

    /// <summary>Absolute guest path of a directory or file.</summary>
    public required string Path { get; init; }

    /// <summary>Index of the first entry to return, counted within the pattern-filtered list.</summary>
    public int Index { get; init; }

    /// <summary>Largest number of entries to return; absent means <see cref="DefaultMaxResults"/>.</summary>
    public int? MaxResults { get; init; }

    /// <summary>Regular expression matched against entry names; absent or empty matches everything.</summary>
    public string? MatchPattern { get; init; }
}
