using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using GuestOps.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GuestOps.Benchmarks;

/// <summary>
/// The real GuestOps server composed exactly as Program.cs does (CreateSlimBuilder + AddGuestOps + MapGuestOps, the
/// server's appsettings.json as content), on https://127.0.0.1:0 with a temporary state directory and a known root
/// password, plus the raw SOAP echo on /raw/... routes of the same WebApplication.
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    public const string SdkPath = "/sdk";

    private static readonly XNamespace Vim = "urn:vim25";

    private readonly WebApplication _app;
    private readonly DirectoryInfo _stateDirectory;
    private readonly Dictionary<string, RawSlot> _raw;

    private BenchServer(WebApplication app, DirectoryInfo stateDirectory, Dictionary<string, RawSlot> raw, Uri baseAddress, string password)
    {
        _app = app;
        _stateDirectory = stateDirectory;
        _raw = raw;
        BaseAddress = baseAddress;
        Password = password;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The password of the server's root user, and of the guest accounts root and demo of every VM.</summary>
    public string Password { get; }

    public string StateDirectory => _stateDirectory.FullName;

    public static Task<BenchServer> StartAsync(IEnumerable<BenchOperation> operations) => StartAsync(operations, new BenchServerSettings());

    public static async Task<BenchServer> StartAsync(IEnumerable<BenchOperation> operations, BenchServerSettings settings)
    {
        var stateDirectory = Directory.CreateTempSubdirectory("guestops-bench-");
        if (settings.Provider != "none" && !OperatingSystem.IsWindows())
        {
            // The sandboxes run as unprivileged host ids (user namespace): they must traverse to their VM directories.
            File.SetUnixFileMode(stateDirectory.FullName, (UnixFileMode)0b111_101_101);
        }

        var password = settings.Password ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        List<string> args =
        [
            "--GuestOps:Urls=https://127.0.0.1:0",
            $"--GuestOps:StateDirectory={stateDirectory.FullName}",
            $"--GuestOps:RootPassword={password}",
            "--GuestOps:VirtualMachines:0:Name=bench-vm-1",
            "--GuestOps:VirtualMachines:1:Name=bench-vm-2",
            // Soap suite: the SOAP path only, no guest sandboxes next to the measurement. Chain suite: sandbox.
            $"--GuestOps:Provider={settings.Provider}",
            // Known, so it is not printed and the chain suite can authenticate in the guests.
            $"--GuestOps:DemoGuestPassword={password}",
        ];
        if (settings.Provider != "none")
        {
            // The VMs' start-up and shutdown messages would drown the figures; nothing is logged per call anyway.
            args.Add("--Logging:LogLevel:Default=Warning");
        }

        if (settings.WorkerPath is not null)
        {
            args.Add($"--GuestOps:WorkerPath={settings.WorkerPath}");
        }

        if (settings.GuestCredentialCacheSeconds is { } ttl)
        {
            args.Add($"--GuestOps:GuestCredentialCacheSeconds={ttl.ToString(CultureInfo.InvariantCulture)}");
        }

        // As src/GuestOps.Server/Program.cs, minus RunGuestOpsAsync (which blocks until shutdown).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [.. args], ContentRootPath = AppContext.BaseDirectory });
        builder.AddGuestOps([.. args]);
        var app = builder.Build();
        app.MapGuestOps();

        // The baseline, one literal route per operation (GuestOps's /sdk is a literal route too).
        var raw = new Dictionary<string, RawSlot>(StringComparer.Ordinal);
        foreach (var operation in operations)
        {
            var slot = new RawSlot();
            raw[operation.Name] = slot;
            app.MapPost(operation.RawRoute, slot.HandleAsync);
        }

        settings.Routes?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server reports no listen address.");
        return new BenchServer(app, stateDirectory, raw, new Uri(address), password);
    }

    /// <summary>Logs in as root, creates a ContainerView of every VM and finds the VMs' ids through it.</summary>
    public async Task<SessionState> LogInAsync()
    {
        using var client = CreateSetupClient();
        using var login = await PostAsync(client, SdkPath, new SoapRequest(Envelope(
            $"""<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>root</userName><password>{Password}</password></Login>"""), null));
        var setCookie = login.Headers.TryGetValues("Set-Cookie", out var values) ? string.Join(";", values) : "";
        var key = setCookie.Split(';').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("vmware_soap_session=", StringComparison.Ordinal))?["vmware_soap_session=".Length..].Trim('"')
            ?? throw new InvalidOperationException("Login returned no vmware_soap_session cookie.");
        var cookie = $"vmware_soap_session=\"{key}\"";

        using var create = await PostAsync(client, SdkPath, new SoapRequest(Envelope(
            """<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this><container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>"""), cookie));
        var view = XDocument.Parse(await create.Content.ReadAsStringAsync()).Descendants(Vim + "returnval").Single().Value;

        var probe = BenchOperation.RetrievePropertiesEx.Request(new SessionState(key, view, []));
        using var retrieved = await PostAsync(client, SdkPath, probe);
        var vms = XDocument.Parse(await retrieved.Content.ReadAsStringAsync()).Descendants(Vim + "obj").Select(o => o.Value).ToArray();
        if (vms.Length < 2)
        {
            throw new InvalidOperationException($"Expected the two configured VMs through the ContainerView, found {vms.Length}.");
        }

        return new SessionState(key, view, vms);
    }

    /// <summary>Polls <c>guest.guestOperationsReady</c> of every VM (RetrievePropertiesEx through the session's
    /// ContainerView) until all are true; returns how long that took.</summary>
    public async Task<TimeSpan> WaitForGuestsAsync(SessionState session, TimeSpan timeout)
    {
        using var client = CreateSetupClient();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var probe = BenchOperation.RetrievePropertiesEx.Request(session);
        while (true)
        {
            using var response = await PostAsync(client, SdkPath, probe);
            var ready = XDocument.Parse(await response.Content.ReadAsStringAsync()).Descendants(Vim + "objects")
                .Select(o => o.Elements(Vim + "propSet").Any(p => (string?)p.Element(Vim + "name") == "guest.guestOperationsReady" && (string?)p.Element(Vim + "val") == "true"))
                .ToList();
            if (ready.Count > 0 && ready.All(r => r))
            {
                return clock.Elapsed;
            }

            if (clock.Elapsed > timeout)
            {
                throw new InvalidOperationException($"guest.guestOperationsReady is not true for every VM after {timeout.TotalSeconds:0} s ({ready.Count(r => r)} of {ready.Count} ready).");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>One call to GuestOps (/sdk), its status and body.</summary>
    public async Task<(HttpStatusCode Status, byte[] Body)> SendAsync(SoapRequest request, string path = SdkPath)
    {
        using var client = CreateSetupClient();
        using var response = await client.SendAsync(InProcessLoad.CreateMessage(new Uri(BaseAddress, path), request));
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>Sends the request once to GuestOps, records its answer as the raw echo's response, and checks that the
    /// raw echo now answers the same request with the same bytes. Returns both sizes.</summary>
    public async Task<(int GuestOpsBytes, int RawBytes, bool Identical)> PrepareRawEchoAsync(BenchOperation operation, SoapRequest request)
    {
        using var client = CreateSetupClient();
        using var ours = await PostAsync(client, SdkPath, request);
        var oursBytes = await ours.Content.ReadAsByteArrayAsync();
        _raw[operation.Name].Echo = new RawSoapEcho(XmlReplay.Record(oursBytes), operation.WireOperation);

        using var theirs = await PostAsync(client, operation.RawRoute, request);
        var rawBytes = await theirs.Content.ReadAsByteArrayAsync();
        return (oursBytes.Length, rawBytes.Length, oursBytes.AsSpan().SequenceEqual(rawBytes));
    }

    public RawSoapEcho RawEcho(BenchOperation operation) => _raw[operation.Name].Echo
        ?? throw new InvalidOperationException($"The raw echo of {operation.Name} is not prepared.");

    /// <summary>A request envelope as pyVmomi writes it (wire-captures/pyvmomi), around one body element.</summary>
    public static byte[] Envelope(string bodyContent) => Encoding.UTF8.GetBytes(
        """<?xml version="1.0" encoding="UTF-8"?>""" + "\n"
        + """<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"""
        + "\n<soapenv:Body>" + bodyContent + "</soapenv:Body>\n</soapenv:Envelope>");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        catch (Exception e)
        {
            // The figures are already printed; a shutdown problem of the server is reported, not fatal here.
            Console.WriteLine($"note: the server's shutdown threw {e.GetType().Name}: {e.Message}");
        }

        try
        {
            _stateDirectory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }

    private HttpClient CreateSetupClient() => new(InProcessLoad.CreateHandler(1)) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, SoapRequest request)
    {
        var response = await client.SendAsync(InProcessLoad.CreateMessage(new Uri(client.BaseAddress!, path), request));
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var text = await response.Content.ReadAsStringAsync();
            response.Dispose();
            throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {text}");
        }

        return response;
    }

    /// <summary>The raw echo of one operation, set once GuestOps's answer is known (routes must exist before start).</summary>
    private sealed class RawSlot
    {
        public RawSoapEcho? Echo { get; set; }

        public Task HandleAsync(HttpContext context) => Echo?.HandleAsync(context) ?? NotReady(context);

        private static Task NotReady(HttpContext context)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        }
    }
}

/// <summary>How the bench composes the server: the soap suite's defaults (no guests), or the chain suite's sandboxes.</summary>
internal sealed record BenchServerSettings
{
    /// <summary>GuestOps:Provider: none (soap suite) or sandbox (chain suite).</summary>
    public string Provider { get; init; } = "none";

    public string? WorkerPath { get; init; }

    /// <summary>The root user's password and the guest accounts' (DemoGuestPassword); null: random.</summary>
    public string? Password { get; init; }

    /// <summary>GuestOps:GuestCredentialCacheSeconds (passed to each worker as --credential-cache-ttl); null: not set.</summary>
    public int? GuestCredentialCacheSeconds { get; init; }

    /// <summary>Extra routes mapped before the server starts (e.g. the transfer suite's raw file endpoint).</summary>
    public Action<WebApplication>? Routes { get; init; }
}
