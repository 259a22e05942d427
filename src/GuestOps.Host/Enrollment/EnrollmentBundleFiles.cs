using System.Text.Json.Serialization;
using GuestOps.Channel.Enrollment;

namespace GuestOps.Host.Enrollment;

/// <summary>The host's side of <see cref="EnrollmentBundle"/> (defined in GuestOps.Channel with the rest of the
/// enrollment exchange): writing the file, which holds a one-time secret.</summary>
public static class EnrollmentBundleFiles
{
    /// <summary>Writes the bundle atomically, readable by its owner only (0600).</summary>
    public static void Save(this EnrollmentBundle bundle, string path)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        StateFiles.WriteAtomically(path, bundle.ToJson() + Environment.NewLine);
    }
}

/// <summary>The store file (<see cref="EnrollmentStore"/>), which people may read: indented; and a cluster's shared
/// <see cref="EnrollmentDocument"/>.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(EnrollmentStoreFile))]
[JsonSerializable(typeof(EnrollmentDocument))]
internal sealed partial class EnrollmentStoreJsonContext : JsonSerializerContext
{
}
