using System.Diagnostics;
using System.Text;
using System.Xml;
using GuestOps.Server.Hosting;
using GuestOps.Soap;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace GuestOps.Reliability.Fuzzing;

/// <summary>What one fuzz input did: an answer shape (for coverage-like counting) or a finding.</summary>
internal readonly record struct FuzzOutcome(string Shape, string? Finding, TimeSpan Elapsed);

/// <summary>
/// The fuzz target: the real server composed in this process as Program.cs composes it (VM provider <c>none</c>: guest
/// calls end at the host agent), driven through its <see cref="SoapDispatcher"/> — the envelope reader, the operation
/// lookup, XmlSerializer, the authorizer and every managed object — without HTTP. Each input is dispatched twice:
/// anonymous and with a logged-in session. A finding is: an exception out of the dispatcher, a status other than 200
/// or 500, an answer that is not a well-formed SOAP envelope (or a 500 that is no vim fault), a <c>SystemError</c>
/// fault (the dispatcher's answer to an unexpected exception), or a dispatch slower than the slow limit when one is set
/// (<c>--slow-ms</c>; a speed check for runs by hand: the test suite's run counts no time).
/// </summary>
internal sealed class FuzzTarget : IAsyncDisposable
{
    /// <summary>The default slow limit of a run by hand.</summary>
    public static readonly TimeSpan DefaultSlowLimit = TimeSpan.FromSeconds(2);
    public const string Password = "Fuzz-Root-Pa55!";

    private readonly WebApplication _app;
    private readonly SoapDispatcher _dispatcher;
    private readonly DirectoryInfo _state;
    private readonly TimeSpan? _slowLimit;
    private string? _session;

    private FuzzTarget(WebApplication app, DirectoryInfo state, TimeSpan? slowLimit)
    {
        _app = app;
        _state = state;
        _slowLimit = slowLimit;
        _dispatcher = app.Services.GetRequiredService<SoapDispatcher>();
    }

    /// <param name="slowLimit">A dispatch slower than this is a finding; null: time is not checked.</param>
    public static async Task<FuzzTarget> StartAsync(TimeSpan? slowLimit)
    {
        var state = Directory.CreateTempSubdirectory("guestops-fuzz-");
        string[] args =
        [
            "--GuestOps:Urls=https://127.0.0.1:0",
            $"--GuestOps:StateDirectory={state.FullName}",
            $"--GuestOps:RootPassword={Password}",
            "--GuestOps:Provider=none",
            "--GuestOps:DemoGuestPassword=Fuzz-Guest-Pa55!",
            "--GuestOps:VirtualMachines:0:Name=fuzz-vm-1",
            "--GuestOps:VirtualMachines:1:Name=fuzz-vm-2",
            // Mutated Logins must not lock root out of the fuzzer's own session.
            "--GuestOps:LoginFailureLimit=0",
            "--Logging:LogLevel:Default=None",
        ];
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddGuestOps(args);
        var app = builder.Build();
        app.MapGuestOps();
        await app.StartAsync();
        var target = new FuzzTarget(app, state, slowLimit);
        await target.LoginAsync();
        return target;
    }

    /// <summary>Dispatches the input anonymously and in the session; the first finding wins.</summary>
    public async Task<FuzzOutcome> RunAsync(byte[] input)
    {
        var anonymous = await DispatchAsync(input, null);
        if (anonymous.Finding is not null)
        {
            return anonymous;
        }

        var session = await DispatchAsync(input, _session);
        return session with { Shape = anonymous.Shape + "|" + session.Shape };
    }

    /// <summary>A fresh session (mutated inputs may log it out; Login with the old cookie also clears its views).</summary>
    public async Task LoginAsync()
    {
        var login = Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>"
            + $"<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>root</userName><password>{Password}</password></Login></soapenv:Body></soapenv:Envelope>");
        using var body = new MemoryStream(login, writable: false);
        using var response = new MemoryStream();
        var result = await _dispatcher.DispatchAsync(body, Info(_session), response, CancellationToken.None);
        _session = result.IssuedSessionKey ?? throw new InvalidOperationException("The fuzz target's Login failed.");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            _state.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static SoapRequestInfo Info(string? session) => new(session, "127.0.0.1", "GuestOps.Reliability fuzz") { LocalPort = 443, IsHttps = true };

    private async Task<FuzzOutcome> DispatchAsync(byte[] input, string? session)
    {
        using var body = new MemoryStream(input, writable: false);
        using var response = new MemoryStream();
        var clock = Stopwatch.StartNew();
        SoapResult result;
        try
        {
            result = await _dispatcher.DispatchAsync(body, Info(session), response, CancellationToken.None);
        }
        catch (Exception e)
        {
            return new FuzzOutcome("exception", $"DispatchAsync threw {e.GetType().Name}: {e.Message}", clock.Elapsed);
        }

        var elapsed = clock.Elapsed;
        if (elapsed > _slowLimit)
        {
            return new FuzzOutcome("slow", $"dispatch took {elapsed.TotalMilliseconds:0} ms", elapsed);
        }

        if (result.StatusCode is not (200 or 500))
        {
            return new FuzzOutcome("status", $"HTTP status {result.StatusCode}", elapsed);
        }

        string shape;
        try
        {
            shape = Shape(response.ToArray(), result.StatusCode);
        }
        catch (Exception e) when (e is XmlException or InvalidDataException)
        {
            return new FuzzOutcome("bad-answer", $"the answer is not a SOAP envelope / vim fault: {e.Message}", elapsed);
        }

        return shape.EndsWith(":SystemError", StringComparison.Ordinal)
            ? new FuzzOutcome(shape, "SystemError (an unexpected exception inside the dispatcher)", elapsed)
            : new FuzzOutcome(shape, null, elapsed);
    }

    /// <summary><c>ok:Operation</c> or <c>fault:Type</c>, checking the envelope on the way.</summary>
    private static string Shape(byte[] answer, int status)
    {
        using var reader = XmlReader.Create(new MemoryStream(answer), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit });
        reader.MoveToContent();
        if (reader.LocalName != "Envelope")
        {
            throw new InvalidDataException($"root element {reader.LocalName}");
        }

        reader.ReadToDescendant("Body", "http://schemas.xmlsoap.org/soap/envelope/");
        if (!reader.Read() || !reader.IsStartElement())
        {
            throw new InvalidDataException("empty Body");
        }

        var first = reader.LocalName;
        if (status == 200)
        {
            return first == "Fault" ? throw new InvalidDataException("a fault with HTTP 200") : "ok:" + first;
        }

        if (first != "Fault")
        {
            throw new InvalidDataException($"HTTP 500 with {first}");
        }

        string? type = null;
        var code = false;
        while (reader.Read())
        {
            if (reader.IsStartElement("faultcode"))
            {
                code = reader.ReadElementContentAsString() == "ServerFaultCode";
            }

            if (reader.IsStartElement() && reader.Depth > 3 && type is null)
            {
                type = reader.GetAttribute("type", "http://www.w3.org/2001/XMLSchema-instance")?.Split(':')[^1] ?? reader.LocalName;
            }
        }

        return !code ? throw new InvalidDataException("faultcode is not ServerFaultCode")
            : type is null ? throw new InvalidDataException("a fault without detail")
            : "fault:" + type;
    }
}
