using System.Globalization;
using System.Text.Json;
using GuestOps.Tools.OneShot;

namespace GuestOps.Tools.Processes;

/// <summary>
/// The started programs of a guest whose tools run once per call: one file per program in a root-only directory,
/// named by its pid, written by the program's supervisor (<c>guestops-tools --supervise</c>) when it starts and again,
/// with end time and exit code, when it exits. Files are replaced atomically (write, then rename), so a reader never
/// sees half a record; a new program with a reused pid replaces the old record, as the in-memory list does.
/// </summary>
internal sealed class ProgramRecordFiles(string directory)
{
    public void Write(StartedPrograms.Program program, int supervisorPid)
    {
        var record = new ProgramRecord(program.Pid, program.Name, program.Owner, program.CommandLine, program.StartTime, program.EndTime, program.ExitCode, supervisorPid);
        var path = Path.Combine(directory, program.Pid.ToString(CultureInfo.InvariantCulture) + ".json");
        var temporary = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using (var stream = ToolsStateDirectory.CreateRootOnlyFile(temporary, FileMode.Create))
        {
            JsonSerializer.Serialize(stream, record, OneShotJsonContext.Default.ProgramRecord);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Every record; exited ones older than <paramref name="retention"/> are deleted instead, and so are
    /// running ones whose program and supervisor are both gone (a supervisor killed before it could record the exit).</summary>
    public List<ProgramRecord> ReadAll(DateTimeOffset now, TimeSpan retention)
    {
        var records = new List<ProgramRecord>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.json"))
        {
            ProgramRecord? record;
            try
            {
                record = JsonSerializer.Deserialize(File.ReadAllBytes(file), OneShotJsonContext.Default.ProgramRecord);
            }
            catch (Exception e) when (e is JsonException or IOException)
            {
                record = null;
            }

            var stale = record is null
                || (record.EndTime is { } end && end < now - retention)
                || (record.EndTime is null && !Exists(record.Pid) && !Exists(record.SupervisorPid));
            if (stale)
            {
                TryDelete(file);
                continue;
            }

            records.Add(record!);
        }

        return records;
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
}
