using System.Globalization;
using System.Text.Json;
using GuestOps.Tools.State;

namespace GuestOps.Tools.Processes;

/// <summary>
/// The started programs of a guest whose tools run once per call: one file per program in a root-only directory,
/// named by its pid, written by the program's supervisor (<c>guestops-tools --supervise</c>) when it starts and again,
/// with end time and exit code, when it exits. Files are replaced atomically (write, then rename), so a reader never
/// sees half a record; a new program with a reused pid replaces the old record, as the in-memory list does. A reader
/// that lives across calls (the resident tools) parses a file again only when its modification time or length changed:
/// a listing then costs one directory scan, not one read and parse per program of the last five minutes.
/// </summary>
internal sealed class ProgramRecordFiles(string directory)
{
    /// <summary>A thread acting as a guest user cannot read the root-only directory: it must fail (and keep what it
    /// has), not see no programs.</summary>
    private static readonly EnumerationOptions ThrowIfInaccessible = new() { IgnoreInaccessible = false, AttributesToSkip = 0 };

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Parsed> _parsed = new(StringComparer.Ordinal);

    public void Write(StartedPrograms.Program program, int supervisorPid)
    {
        var record = new ProgramRecord(program.Pid, program.Name, program.Owner, program.CommandLine, program.StartTime, program.EndTime, program.ExitCode, supervisorPid);
        var path = Path.Combine(directory, program.Pid.ToString(CultureInfo.InvariantCulture) + ".json");
        var temporary = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using (var stream = ToolsStateDirectory.CreateRootOnlyFile(temporary, FileMode.Create))
        {
            JsonSerializer.Serialize(stream, record, ToolsStateJsonContext.Default.ProgramRecord);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Every record; exited ones older than <paramref name="retention"/> are deleted instead, and so are
    /// running ones whose program and supervisor are both gone (a supervisor killed before it could record the exit).</summary>
    public List<ProgramRecord> ReadAll(DateTimeOffset now, TimeSpan retention)
    {
        var records = new List<ProgramRecord>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var files = new System.IO.Enumeration.FileSystemEnumerable<(string Path, DateTime Written, long Length)>(
            directory,
            (ref System.IO.Enumeration.FileSystemEntry entry) => (entry.ToFullPath(), entry.LastWriteTimeUtc.UtcDateTime, entry.Length),
            ThrowIfInaccessible)
        {
            ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry entry) => !entry.IsDirectory && entry.FileName.EndsWith(".json", StringComparison.Ordinal),
        };
        foreach (var (file, written, length) in files)
        {
            seen.Add(file);
            var record = Parse(file, written, length);
            var stale = record is null
                || (record.EndTime is { } end && end < now - retention)
                || (record.EndTime is null && !Exists(record.Pid) && !Exists(record.SupervisorPid));
            if (stale)
            {
                TryDelete(file);
                Forget(file);
                continue;
            }

            records.Add(record!);
        }

        lock (_lock)
        {
            foreach (var gone in _parsed.Keys.Where(f => !seen.Contains(f)).ToList())
            {
                _parsed.Remove(gone);
            }
        }

        return records;
    }

    /// <summary>The record in <paramref name="file"/>: the one parsed before when the file is unchanged since.</summary>
    private ProgramRecord? Parse(string file, DateTime written, long length)
    {
        lock (_lock)
        {
            if (_parsed.TryGetValue(file, out var known) && known.Written == written && known.Length == length)
            {
                return known.Record;
            }
        }

        ProgramRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(File.ReadAllBytes(file), ToolsStateJsonContext.Default.ProgramRecord);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }

        lock (_lock)
        {
            _parsed[file] = new Parsed(written, length, record);
        }

        return record;
    }

    private void Forget(string file)
    {
        lock (_lock)
        {
            _parsed.Remove(file);
        }
    }

    private static bool Exists(int pid) => pid > 0 && ProcFs.State(pid) is not (null or 'Z' or 'X');

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
    }

    private sealed record Parsed(DateTime Written, long Length, ProgramRecord? Record);
}
