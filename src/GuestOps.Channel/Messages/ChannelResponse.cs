using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

/// <summary>The answer to a request: exactly one of <see cref="Result"/> and <see cref="Error"/>.</summary>
public sealed record ChannelResponse
{
    public ChannelResult? Result { get; init; }

    public GuestError? Error { get; init; }

    [JsonIgnore]
    public bool IsSuccess => Error is null;

    public static ChannelResponse Success(ChannelResult result) => new() { Result = result };

    public static ChannelResponse Failure(GuestError error) => new() { Error = error };

    public static ChannelResponse Failure(GuestErrorCode code, string message, string? path = null) =>
        new() { Error = new GuestError(code, message) { Path = path } };
}

/// <summary>The payload of a successful response; the JSON carries a type tag <c>kind</c>.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(EmptyResult), "empty")]
[JsonDerivedType(typeof(ListFilesResult), "listFiles")]
[JsonDerivedType(typeof(PathResult), "path")]
[JsonDerivedType(typeof(ProcessIdResult), "pid")]
[JsonDerivedType(typeof(ListProcessesResult), "processes")]
[JsonDerivedType(typeof(EnvironmentResult), "environment")]
[JsonDerivedType(typeof(TransferGrantResult), "transferGrant")]
[JsonDerivedType(typeof(AcquireCredentialsResult), "credentials")]
public abstract record ChannelResult;

/// <summary>Success with nothing to return.</summary>
public sealed record EmptyResult : ChannelResult
{
    public static EmptyResult Instance { get; } = new();
}

/// <summary>
/// A guest-side failure. <see cref="Code"/> is what the host maps to a vim fault; <see cref="Message"/> is for
/// people; <see cref="Path"/>/<see cref="Pid"/> name the object involved where there is one.
/// </summary>
public sealed record GuestError(GuestErrorCode Code, string Message)
{
    public string? Path { get; init; }

    public long? Pid { get; init; }

    /// <summary>The guest OS error number behind the failure, when there is one (diagnostics only).</summary>
    public int? OsError { get; init; }
}

/// <summary>
/// Guest-side error codes (the VIX-like situations of the reference's guest-agent error table). The numeric values
/// are the wire encoding and never change; a host that receives a value it does not know treats it as
/// <see cref="InternalError"/>.
/// </summary>
public enum GuestErrorCode
{
    /// <summary>Unexpected failure in the guest (generic guest-operations fault).</summary>
    InternalError = 1,

    /// <summary>The credential was rejected (bad name/password, unknown user, locked or expired account).</summary>
    InvalidLogin = 2,

    /// <summary>The authenticated user may not do this (EACCES/EPERM), or the worker cannot act as that user.</summary>
    PermissionDenied = 3,

    FileNotFound = 4,
    FileAlreadyExists = 5,
    NotAFile = 6,
    NotADirectory = 7,
    DirectoryNotEmpty = 8,

    /// <summary>The object exists but cannot be accessed for another reason (I/O error, loop, ...).</summary>
    FileAccessError = 9,

    FileNameTooLong = 10,

    /// <summary>A bad argument: relative or empty path, NUL in a path, invalid regular expression, negative index.</summary>
    InvalidArgument = 11,

    /// <summary>The guest OS cannot do this (e.g. an SSPI mechanism the guest has not been set up for).</summary>
    NotSupported = 12,

    /// <summary>The guest's configuration disables this operation.</summary>
    OperationDisabled = 13,

    NoSuchProcess = 14,

    /// <summary>The worker does not know the operation: it is older than the host (guest components out of date).</summary>
    UnknownOperation = 15,

    /// <summary>The request was canceled before it completed.</summary>
    Canceled = 16,

    TooManyLogons = 17,
    FileLocked = 18,
    NoDiskSpace = 19,

    /// <summary>A transfer names a grant the worker does not have (never issued, used, expired, or the worker restarted).</summary>
    TransferNotGranted = 30,

    /// <summary>An SSPI exchange's session id is unknown: never issued, completed, failed or timed out.</summary>
    UnknownAuthenticationSession = 20,
}
