using System.ComponentModel;
using System.Text;
using System.Text.Json;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>A finished pyVmomi script: its process, the JSON it printed last, and how many SOAP answers it recorded.</summary>
public sealed class PyVmomiRun(ProcessResult run, JsonDocument document, int responseCount) : IDisposable
{
    /// <summary>Debian's python3-pyvmomi runs with the system interpreter.</summary>
    public const string Python = "/usr/bin/python3";

    public ProcessResult Run { get; } = run;

    public JsonElement Result => document.RootElement;

    public int ResponseCount { get; } = responseCount;

    public void Dispose() => document.Dispose();

    /// <summary>
    /// Runs python/<paramref name="script"/> with /usr/bin/python3, parses the last JSON line it printed, adds every SOAP
    /// body pyVmomi received to <paramref name="responses"/> (schema-checked like the C# clients' ones), and asserts the
    /// script raised nothing and exited 0. Missing Python or pyVmomi is a failure, not a skip: CI installs python3-pyvmomi.
    /// </summary>
    public static async Task<PyVmomiRun> StartAsync(string script, IEnumerable<string> arguments, TimeSpan timeout, ResponseLog responses, TestContext context)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "python", script);
        Assert.IsTrue(File.Exists(path), $"{path} is missing: the csproj copies python/** to the output.");
        if (!File.Exists(Python))
        {
            Assert.Fail($"{Python} is missing. Install Debian's python3-pyvmomi (apt-get install python3-pyvmomi); .ci/run does.");
        }

        ProcessResult run;
        try
        {
            run = await ProcessRunner.RunAsync(Python, [path, .. arguments], timeout);
        }
        catch (Win32Exception e)
        {
            throw new AssertFailedException($"Cannot run {Python}: {e.Message}. Install Debian's python3-pyvmomi.");
        }

        context.WriteLine($"pyVmomi run: {run.Elapsed.TotalSeconds:0.0} s, exit code {run.ExitCode}");
        var json = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new AssertFailedException($"The pyVmomi script printed no JSON.{Environment.NewLine}{run}");
        var document = JsonDocument.Parse(json);
        var result = document.RootElement;
        if (result.TryGetProperty("importError", out var importError))
        {
            Assert.Fail($"pyVmomi cannot be imported by {Python} ({importError.GetString()}). Install Debian's python3-pyvmomi.");
        }

        var index = 0;
        foreach (var body in result.GetProperty("responses").EnumerateArray())
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(body.GetString()!));
            responses.Add(new RecordedResponse($"pyVmomi response #{++index}", 0, "text/xml", text, ExpectSoap: true));
        }

        Assert.AreEqual(0, result.GetProperty("errors").GetArrayLength(), $"pyVmomi raised:{Environment.NewLine}{run}");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        return new PyVmomiRun(run, document, index);
    }
}
