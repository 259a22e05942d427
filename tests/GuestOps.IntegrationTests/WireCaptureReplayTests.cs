using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Replays, per client and in the captured order, every request of the wire captures (inventory and session calls,
/// every guest operation and every /guestFile upload and download) against a server whose VMs run sandboxed guests,
/// over a raw TCP + TLS connection: request line, header lines and body as captured (chunked bodies re-framed as valid
/// chunked encoding, since the capture stores them decoded). Only what must change is rewritten, each rewrite listed in
/// <see cref="Rewrite"/>. Every answer must have the captured status (200, or the fault the capture shows), be
/// well-formed and schema-valid, and address the same objects the captured answer did; guest answers are compared where
/// the guest's state is the replay's own (the files of the capture's harness directory, the pids asked for, the bytes
/// downloaded against the bytes uploaded). An exchange that is not replayed is listed with its reason.
/// </summary>
// Hand-built SOAP on purpose: this class tests the wire itself (captured requests replayed byte for byte), not a typed client.
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class WireCaptureReplayTests : IntegrationTest
{
    /// <summary>Exchanges not replayed, by operation (or HTTP path), with the reason printed for each. Empty: the server
    /// implements every operation the captured clients used.</summary>
    private static readonly Dictionary<string, string> NotReplayed = new(StringComparer.Ordinal);

    /// <summary>The guest password the captures' harness used for the guest account root (its wrong one,
    /// <c>secret-wrong</c>, is replayed as it is: it must still be refused).</summary>
    private const string CapturedGuestPassword = "secret";

    /// <summary>
    /// Captured exchanges GuestOps answers differently from the simulator on purpose, with the answer expected instead.
    /// govc 094/095 (and the same pair later in the upload/download flows): the simulator is a vCenter
    /// (about.apiType VirtualCenter), so govmomi's guest transfer code asked it for the VM's host and that host's SSL
    /// thumbprint. GuestOps is a host agent (apiType HostAgent) without HostSystem objects, so govc
    /// never sends these to it; replayed anyway, the HostSystem read must be a clean ManagedObjectNotFound fault.
    /// </summary>
    private static readonly Dictionary<string, string> ExpectedFaultInsteadOfCaptured = new(StringComparer.Ordinal)
    {
        ["HostSystem:host-21"] = "ManagedObjectNotFound",
    };

    private static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(15);

    private static GuestServer? _guest;
    private static Dictionary<string, string> _vmIds = [];

    /// <summary>Starts one server with the VMs the captures name (DC0_H0_VM0 ...), and maps the captured VM ids
    /// (vm-57 ...) to ours by name.</summary>
    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        var capturedNames = CapturedVmNames();
        Assert.IsTrue(capturedNames.Count > 0, "No VM names found in the captured responses.");
        _guest = await GuestServer.StartAsync(vmNames: capturedNames.OrderBy(kv => NumericId(kv.Key)).Select(kv => kv.Value).ToList());

        // Our ids for those names: a RetrieveProperties over the VM folder (its answer is schema-checked like any other).
        var log = new ResponseLog();
        using var client = new SoapClient(_guest.Server, log);
        await client.LoginOkAsync();
        var response = await client.PostAsync(
            Soap.Call("RetrieveProperties", Moref.PropertyCollector, Soap.FilterSpec([("VirtualMachine", ["name"])], Moref.VmFolder, skip: true,
                selectSet: "<selectSet xsi:type=\"TraversalSpec\"><type>Folder</type><path>childEntity</path><skip>false</skip></selectSet>")),
            "replay setup: VM names");
        var ours = response.ReturnValues("RetrieveProperties").ToDictionary(
            r => r.Element(Soap.Vim + "propSet")!.Element(Soap.Vim + "val")!.Value,
            r => r.Element(Soap.Vim + "obj")!.Value);
        await client.CallAsync("Logout", Moref.SessionManager);
        log.AssertAllValid();

        _vmIds = capturedNames.ToDictionary(kv => kv.Key, kv => ours.TryGetValue(kv.Value, out var id)
            ? id
            : throw new AssertFailedException($"The replay server has no VM named {kv.Value}; it has {string.Join(", ", ours.Keys)}."));
        context.WriteLine("VM id map (captured -> ours): " + string.Join(", ", _vmIds.Select(kv => $"{kv.Key} -> {kv.Value} ({capturedNames[kv.Key]})")));
    }

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        if (_guest is not null)
        {
            await _guest.DisposeAsync();
            _guest = null;
        }
    }

    [TestMethod]
    [DataRow("pyvmomi")]
    [DataRow("govc")]
    [DataRow("rbvmomi")]
    [Timeout(180_000)]
    public async Task ReplayCapturedClientSession(string client)
    {
        var server = _guest?.Server ?? throw new AssertFailedException("The replay server did not start.");
        var exchanges = WireCapture.Load(client);
        var state = new ReplayState();
        var replayed = 0;
        var skipped = new List<string>();
        var clock = Stopwatch.StartNew();
        RawHttpConnection? connection = null;
        try
        {
            foreach (var exchange in exchanges)
            {
                if (NotReplayed.TryGetValue(exchange.Operation ?? exchange.Path.Split('?')[0], out var reason))
                {
                    skipped.Add($"{exchange} ({exchange.Operation ?? exchange.Path}): {reason}");
                    continue;
                }

                if (connection is null || connection.Closed)
                {
                    if (connection is not null)
                    {
                        await connection.DisposeAsync();
                    }

                    using var connect = new CancellationTokenSource(ExchangeTimeout);
                    connection = await RawHttpConnection.OpenAsync(server.BaseUri, connect.Token);
                }

                await ReplayOneAsync(server, connection, exchange, state);
                replayed++;
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }

        TestContext.WriteLine($"{client}: replayed {replayed} of {exchanges.Count} exchanges in {clock.ElapsedMilliseconds} ms "
            + $"({state.GuestCalls} guest operations, {state.Transfers} /guestFile transfers); not replayed: {(skipped.Count == 0 ? "none" : "")}");
        foreach (var line in skipped)
        {
            TestContext.WriteLine("  " + line);
        }

        Assert.AreEqual(exchanges.Count, replayed + skipped.Count);
        Assert.IsTrue(replayed > 0, $"Nothing of {client} was replayed.");
        Assert.IsTrue(state.Logins > 0, $"{client}: no Login was replayed.");
        Assert.AreEqual(exchanges.Count(IsGuestOperation), state.GuestCalls, $"{client}: every guest operation was replayed");
        Assert.AreEqual(exchanges.Count(e => e.Path.StartsWith("/guestFile", StringComparison.Ordinal)), state.Transfers, $"{client}: every /guestFile transfer was replayed");
        await AssertStillServingAsync(server);
    }

    private async Task ReplayOneAsync(ServerProcess server, RawHttpConnection connection, CapturedExchange exchange, ReplayState state)
    {
        var (requestLine, headers, body) = Rewrite(server, exchange, state);
        using var timeout = new CancellationTokenSource(ExchangeTimeout);
        var clock = Stopwatch.StartNew();
        RawHttpResponse response;
        try
        {
            await connection.SendAsync(requestLine, headers, body, exchange.Request.IsChunked ? 128 : null, timeout.Token);
            response = await connection.ReadResponseAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new AssertFailedException($"{exchange}: no answer within {ExchangeTimeout.TotalSeconds:0} s.{Environment.NewLine}{server.AllOutput}");
        }

        var description = $"replay {exchange} ({exchange.Operation ?? exchange.Path})";
        var answer = new SoapResponse(description, response.StatusCode, response.Header("Content-Type"), response.BodyText, response.Headers, clock.Elapsed);
        Responses.Add(answer, expectSoap: exchange.Operation is not null && response.StatusCode is 200 or 500);

        if (exchange.Operation is null)
        {
            if (exchange.Path.StartsWith("/guestFile", StringComparison.Ordinal))
            {
                CheckTransfer(exchange, response, body, state);
                state.Transfers++;
                return;
            }

            CheckDocument(exchange, answer);
            return;
        }

        if (IsGuestOperation(exchange))
        {
            state.GuestCalls++;
        }

        var expectedFault = ExpectedFault(exchange, out var reason);
        if (expectedFault is not null)
        {
            var fault = answer.AssertFault(expectedFault);
            TestContext.WriteLine($"{exchange}: {fault.Type} as expected ({reason})");
            return;
        }

        XElement payload;
        try
        {
            payload = answer.AssertOk(exchange.Operation);
        }
        catch (AssertFailedException e)
        {
            var output = server.AllOutput;
            throw new AssertFailedException($"{e.Message}{Environment.NewLine}request sent:{Environment.NewLine}{Encoding.UTF8.GetString(body)}{Environment.NewLine}server output (end):{Environment.NewLine}{output[Math.Max(0, output.Length - 6000)..]}", e);
        }

        Learn(exchange, answer, payload, state);
        CompareObjects(exchange, payload, state);
        CompareGuestAnswer(exchange, payload, state);
    }

    /// <summary>
    /// The documented rewrites, and nothing else:
    /// Host (our port); the session key inside Cookie (ours from our Login, the captured cookie's shape kept: quotes or
    /// not, <c>; HttpOnly</c> echoes); in the body the Login user and password (the captures log in as user/pass, the
    /// server's only user is root), ContainerView ids (ours from our CreateContainerView), session keys and VM ids
    /// (captured vm-57 ... mapped to ours by VM name); in guest operations the guest password of the captures' guest
    /// account root (<c>secret</c>, replaced by our sandboxed guest's root password; the wrong one is kept), the pids of
    /// <c>pids</c>/<c>pid</c> (captured pid of a StartProgramInGuest mapped to the pid our guest gave it) and the names
    /// CreateTemporaryFileInGuest chose (captured name mapped to ours); in a /guestFile request line the URL's id and
    /// token (ours from the matching InitiateFileTransfer answer); Content-Length when the body changed.
    /// </summary>
    private static (string RequestLine, List<(string Name, string Value)> Headers, byte[] Body) Rewrite(ServerProcess server, CapturedExchange exchange, ReplayState state)
    {
        var request = exchange.Request;
        var requestLine = request.RequestLine;
        if (exchange.Operation is null && state.TransferTargets.TryGetValue(request.Target, out var target))
        {
            requestLine = $"{request.Method} {target} {request.HttpVersion}";
        }

        var text = request.BodyText;
        var rewritten = text;
        if (exchange.Operation == "Login")
        {
            rewritten = UserName().Replace(rewritten, m => m.Groups[1].Value + "root" + m.Groups[3].Value, 1);
            rewritten = Password().Replace(rewritten, m => m.Groups[1].Value + Soap.Escape(server.RootPassword!) + m.Groups[3].Value, 1);
        }
        else if (IsGuestOperation(exchange))
        {
            rewritten = Password().Replace(rewritten, m => m.Groups[2].Value == CapturedGuestPassword ? m.Groups[1].Value + Soap.Escape(GuestServer.GuestPassword) + m.Groups[3].Value : m.Value);
            rewritten = PidInText().Replace(rewritten, m => state.Pids.TryGetValue(m.Value, out var ours) ? ours : m.Value);
            foreach (var (captured, ours) in state.TemporaryNames)
            {
                rewritten = rewritten.Replace(captured, ours, StringComparison.Ordinal);
            }
        }

        foreach (var (captured, ours) in state.ViewIds.OrderByDescending(kv => kv.Key.Length))
        {
            rewritten = rewritten.Replace(captured, ours, StringComparison.Ordinal);
        }

        foreach (var (captured, ours) in state.SessionKeys)
        {
            rewritten = rewritten.Replace(captured, ours, StringComparison.Ordinal);
        }

        if (exchange.Operation is not null)
        {
            rewritten = VmIdInText().Replace(rewritten, m => _vmIds.TryGetValue(m.Value, out var ours) ? ours : m.Value);
        }

        var body = exchange.Operation is null || rewritten == text ? request.Body : Encoding.UTF8.GetBytes(rewritten);

        var headers = new List<(string, string)>();
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                headers.Add((name, $"127.0.0.1:{server.Port}"));
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                headers.Add((name, body.Length.ToString(CultureInfo.InvariantCulture)));
            }
            else if (name.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
            {
                var cookie = value;
                foreach (var (captured, ours) in state.SessionKeys)
                {
                    cookie = cookie.Replace(captured, ours, StringComparison.Ordinal);
                }

                headers.Add((name, cookie));
            }
            else
            {
                headers.Add((name, value));
            }
        }

        return (requestLine, headers, body);
    }

    /// <summary>Learns the ids our server chose: the session key of a Login, the id of a ContainerView.</summary>
    private static void Learn(CapturedExchange exchange, SoapResponse answer, XElement payload, ReplayState state)
    {
        switch (exchange.Operation)
        {
            case "Login":
                var captured = CookieValue(exchange.Response.Header("Set-Cookie"))
                    ?? throw new AssertFailedException($"{exchange}: the captured Login response has no session cookie.");
                var ours = CookieValue(answer.SetCookie)
                    ?? throw new AssertFailedException($"{exchange}: our Login response has no vmware_soap_session cookie.{Environment.NewLine}{answer}");
                Assert.AreEqual(ours, (string?)payload.Element(Soap.Vim + "returnval")?.Element(Soap.Vim + "key"), $"{exchange}: the cookie must carry the UserSession key");
                Assert.AreEqual("root", (string?)payload.Element(Soap.Vim + "returnval")?.Element(Soap.Vim + "userName"));
                state.SessionKeys[captured] = ours;
                state.Logins++;
                break;
            case "CreateContainerView":
                var capturedView = ReturnValue(XDocument.Parse(exchange.Response.Body));
                var ourView = payload.Element(Soap.Vim + "returnval") ?? throw new AssertFailedException($"{exchange}: no returnval.{Environment.NewLine}{answer}");
                Assert.AreEqual("ContainerView", (string?)ourView.Attribute("type"));
                state.ViewIds[capturedView!.Value.Value] = ourView.Value;
                break;
            case "StartProgramInGuest":
                state.Pids[CapturedReturnText(exchange)] = payload.Element(Soap.Vim + "returnval")!.Value;
                break;
            case "CreateTemporaryFileInGuest":
                state.TemporaryNames[CapturedReturnText(exchange)] = payload.Element(Soap.Vim + "returnval")!.Value;
                break;
            case "InitiateFileTransferToGuest" or "InitiateFileTransferFromGuest":
                var capturedUrl = CapturedReturnText(exchange, exchange.Operation == "InitiateFileTransferFromGuest" ? "url" : null);
                var ourUrl = exchange.Operation == "InitiateFileTransferFromGuest"
                    ? payload.Element(Soap.Vim + "returnval")!.Element(Soap.Vim + "url")!.Value
                    : payload.Element(Soap.Vim + "returnval")!.Value;
                var guestPath = RequestElement(exchange, "guestFilePath");
                state.TransferTargets[PathAndQuery(capturedUrl)] = PathAndQuery(ourUrl);
                state.TransferPaths[PathAndQuery(capturedUrl)] = guestPath;
                if (exchange.Operation == "InitiateFileTransferFromGuest" && state.Uploaded.TryGetValue(guestPath, out var uploaded))
                {
                    Assert.AreEqual(uploaded.LongLength.ToString(CultureInfo.InvariantCulture), payload.Element(Soap.Vim + "returnval")!.Element(Soap.Vim + "size")!.Value, $"{exchange}: size of {guestPath}");
                }

                break;
        }
    }

    /// <summary>Guest answers compared where the guest's state is the replay's own: ListFilesInGuest of the capture's
    /// harness directories lists the same names the captured guest listed (temporary names mapped); ListProcessesInGuest
    /// answers only pids it was asked for.</summary>
    private static void CompareGuestAnswer(CapturedExchange exchange, XElement payload, ReplayState state)
    {
        switch (exchange.Operation)
        {
            case "ListFilesInGuest" when RequestElement(exchange, "filePath").StartsWith("/tmp/harness-", StringComparison.Ordinal)
                && FileNames(XDocument.Parse(exchange.Response.Body).Root!.Element(Soap.Env + "Body")!.Elements().First()).Contains("."):
                // A directory's listing (a listing of one file names it as the test double chose: not compared).
                var capturedPayload = XDocument.Parse(exchange.Response.Body).Root!.Element(Soap.Env + "Body")!.Elements().First();
                var expected = FileNames(capturedPayload).Select(n => state.TemporaryNames.FirstOrDefault(t => t.Key.EndsWith("/" + n, StringComparison.Ordinal)) is { Key: not null } t ? t.Value[(t.Value.LastIndexOf('/') + 1)..] : n).Order(StringComparer.Ordinal).ToList();
                var actual = FileNames(payload).Order(StringComparer.Ordinal).ToList();
                CollectionAssert.AreEqual(expected, actual, $"{exchange}: files of {RequestElement(exchange, "filePath")}. Captured: {string.Join(", ", expected)}; ours: {string.Join(", ", actual)}");
                break;
            case "ListProcessesInGuest":
                var asked = PidInText().Matches(exchange.Request.BodyText).Select(m => state.Pids.GetValueOrDefault(m.Value, m.Value)).ToHashSet();
                var answered = payload.Elements(Soap.Vim + "returnval").Select(p => (string)p.Element(Soap.Vim + "pid")!).ToList();
                if (asked.Count > 0)
                {
                    Assert.IsTrue(answered.Count > 0 && answered.All(asked.Contains), $"{exchange}: asked for pids {string.Join(", ", asked)}, got {string.Join(", ", answered)}");
                }

                break;
        }

        static IEnumerable<string> FileNames(XElement payload) =>
            payload.Element(Soap.Vim + "returnval")!.Elements(Soap.Vim + "files").Select(f => f.Element(Soap.Vim + "path")!.Value);
    }

    /// <summary>A call of GuestAuthManager, GuestFileManager or GuestProcessManager.</summary>
    private static bool IsGuestOperation(CapturedExchange exchange) =>
        exchange.Operation is not null && exchange.Request.BodyText.Contains("<_this type=\"Guest", StringComparison.Ordinal);

    /// <summary>A /guestFile exchange: the captured status; an upload's bytes are remembered for its path, and a
    /// download must return exactly the bytes last uploaded to its path.</summary>
    private void CheckTransfer(CapturedExchange exchange, RawHttpResponse response, byte[] body, ReplayState state)
    {
        Assert.AreEqual(exchange.StatusCode, response.StatusCode, $"{exchange}: HTTP status of {exchange.Method} /guestFile{Environment.NewLine}{response.BodyText}");
        var path = state.TransferPaths.TryGetValue(exchange.Request.Target, out var p) ? p
            : throw new AssertFailedException($"{exchange}: no InitiateFileTransfer answer issued {exchange.Request.Target}");
        if (exchange.Method == "PUT")
        {
            state.Uploaded[path] = body;
        }
        else if (state.Uploaded.TryGetValue(path, out var uploaded))
        {
            CollectionAssert.AreEqual(uploaded, response.Body, $"{exchange}: the download of {path} returned other bytes than were uploaded ({response.Body.Length} B, uploaded {uploaded.Length} B)");
        }

        TestContext.WriteLine($"{exchange}: {exchange.Method} {path}: HTTP {response.StatusCode}, {(exchange.Method == "PUT" ? body.Length : response.Body.Length)} bytes");
    }

    private static string CapturedReturnText(CapturedExchange exchange, string? child = null)
    {
        var returnval = XDocument.Parse(exchange.Response.Body).Descendants(Soap.Vim + "returnval").First();
        return (child is null ? returnval : returnval.Element(Soap.Vim + child)!).Value;
    }

    private static string RequestElement(CapturedExchange exchange, string name) =>
        XDocument.Parse(exchange.Request.BodyText).Descendants(Soap.Vim + name).First().Value;

    /// <summary>The path and query of a transfer URL (<c>https://*/guestFile?id=1&amp;token=...</c>).</summary>
    private static string PathAndQuery(string url) => url[url.IndexOf("/guestFile", StringComparison.Ordinal)..];

    /// <summary>The answer addresses the same objects the captured one did (captured VM ids mapped to ours).</summary>
    private static void CompareObjects(CapturedExchange exchange, XElement payload, ReplayState state)
    {
        var capturedPayload = XDocument.Parse(exchange.Response.Body).Root!.Element(Soap.Env + "Body")!.Elements().First();
        switch (exchange.Operation)
        {
            case "RetrieveProperties" or "RetrievePropertiesEx" or "ContinueRetrievePropertiesEx":
                var expected = ObjectsOf(capturedPayload).Select(m => Map(m, state)).OrderBy(m => m.ToString(), StringComparer.Ordinal).ToList();
                var actual = ObjectsOf(payload).OrderBy(m => m.ToString(), StringComparer.Ordinal).ToList();
                CollectionAssert.AreEqual(expected, actual,
                    $"{exchange}: objects returned. Captured: {string.Join(", ", expected)}; ours: {string.Join(", ", actual)}{Environment.NewLine}{payload}");

                // For explicit paths (not all=true), the same properties are set, except the vCenter-only ones.
                if (!exchange.Request.BodyText.Contains("<all>true</all>", StringComparison.Ordinal))
                {
                    var capturedProps = PropertiesOf(capturedPayload).Select(p => (Obj: Map(p.Obj, state), p.Name)).Where(p => !VCenterOnlyProperties.Contains($"{p.Obj.Type}.{p.Name}")).ToHashSet();
                    var ourProps = PropertiesOf(payload).ToHashSet();
                    var extra = ourProps.Except(capturedProps).ToList();
                    var missing = capturedProps.Except(ourProps).Where(p => !GuestReportedProperties.Contains($"{p.Obj.Type}.{p.Name}")).ToList();
                    Assert.IsTrue(extra.Count == 0 && missing.Count == 0,
                        $"{exchange}: properties set differ from the capture. Missing: {string.Join(", ", missing)}; extra: {string.Join(", ", extra)}{Environment.NewLine}{payload}");
                }

                break;
            case "FindChild" or "FindByUuid" or "FindByInventoryPath" or "FindByDnsName" or "FindByIp":
                var capturedFound = ReturnValue(capturedPayload.Document!);
                var ourFound = payload.Element(Soap.Vim + "returnval") is { } r ? Moref.From(r) : (Moref?)null;
                Assert.AreEqual(capturedFound is { } c ? Map(c, state) : null, ourFound, $"{exchange}: found object{Environment.NewLine}{payload}");
                break;
        }
    }

    private static void CheckDocument(CapturedExchange exchange, SoapResponse answer)
    {
        Assert.AreEqual(exchange.StatusCode, answer.StatusCode, $"{exchange}: HTTP status{Environment.NewLine}{answer}");
        if (exchange.Path == "/sdk/vimServiceVersions.xml")
        {
            var root = answer.Xml.Root!;
            Assert.AreEqual("namespaces", root.Name.LocalName);
            Assert.AreEqual("1.0", (string?)root.Attribute("version"));
            var names = root.Elements("namespace").Select(n => (string?)n.Element("name")).ToList();
            CollectionAssert.AreEqual(new[] { "urn:vim25" }, names, "vimServiceVersions.xml must publish urn:vim25 only");
        }
    }

    private static string? ExpectedFault(CapturedExchange exchange, out string reason)
    {
        foreach (var (target, fault) in ExpectedFaultInsteadOfCaptured)
        {
            var parts = target.Split(':');
            if (exchange.Request.BodyText.Contains($"<obj type=\"{parts[0]}\">{parts[1]}</obj>", StringComparison.Ordinal))
            {
                reason = $"{target} exists only on the captured vCenter simulator";
                return fault;
            }
        }

        reason = "as captured";
        if (exchange.StatusCode == 500)
        {
            var type = XDocument.Parse(exchange.Response.Body).Descendants("detail").Elements().Single().Attribute(Soap.Xsi + "type")!.Value;
            return type.Contains(':', StringComparison.Ordinal) ? type[(type.IndexOf(':', StringComparison.Ordinal) + 1)..] : type;
        }

        Assert.AreEqual(200, exchange.StatusCode, $"{exchange}: unexpected captured status");
        return null;
    }

    /// <summary>Properties only a vCenter has (see <see cref="ExpectedFaultInsteadOfCaptured"/>).</summary>
    private static readonly HashSet<string> VCenterOnlyProperties = new(StringComparer.Ordinal) { "VirtualMachine.runtime.host" };

    /// <summary>Properties VMware Tools reports from inside the guest: unset (so left out) while the guest's tools do
    /// not run, as for the configured VMs of the foundation (guestState notRunning); the simulator always sets them.</summary>
    private static readonly HashSet<string> GuestReportedProperties = new(StringComparer.Ordinal)
    {
        "VirtualMachine.guest.guestFamily", "VirtualMachine.guest.toolsInstallType", "VirtualMachine.guest.hostName", "VirtualMachine.guest.ipAddress",
    };

    private static IEnumerable<(Moref Obj, string Name)> PropertiesOf(XElement payload) =>
        payload.Elements(Soap.Vim + "returnval")
            .SelectMany(r => r.Elements(Soap.Vim + "obj").Any() ? [r] : r.Elements(Soap.Vim + "objects"))
            .SelectMany(o => o.Elements(Soap.Vim + "propSet").Select(p => (Moref.From(o.Element(Soap.Vim + "obj")!), p.Element(Soap.Vim + "name")!.Value)));

    private static IEnumerable<Moref> ObjectsOf(XElement payload) =>
        payload.Elements(Soap.Vim + "returnval")
            .SelectMany(r => r.Elements(Soap.Vim + "obj").Concat(r.Elements(Soap.Vim + "objects").Elements(Soap.Vim + "obj")))
            .Select(Moref.From);

    private static Moref? ReturnValue(XDocument document) =>
        document.Root!.Element(Soap.Env + "Body")!.Elements().First().Element(Soap.Vim + "returnval") is { } r ? Moref.From(r) : null;

    private static Moref Map(Moref captured, ReplayState state) => captured.Type switch
    {
        "VirtualMachine" when _vmIds.TryGetValue(captured.Value, out var ours) => captured with { Value = ours },
        "ContainerView" when state.ViewIds.TryGetValue(captured.Value, out var ours) => captured with { Value = ours },
        _ => captured,
    };

    private static string? CookieValue(string? setCookie)
    {
        if (setCookie is null)
        {
            return null;
        }

        var match = SessionCookie().Match(setCookie);
        return match.Success ? match.Groups[1].Value : null;
    }

    /// <summary>Captured VM id → name, from every captured response that reports a VM's name.</summary>
    private static Dictionary<string, string> CapturedVmNames()
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var client in new[] { "pyvmomi", "govc", "rbvmomi" })
        {
            foreach (var exchange in WireCapture.Load(client).Where(e => e.Response.Body.Contains("VirtualMachine", StringComparison.Ordinal)))
            {
                foreach (Match match in CapturedVmName().Matches(exchange.Response.Body))
                {
                    names.TryAdd(match.Groups[1].Value, match.Groups[2].Value);
                }
            }
        }

        return names;
    }

    private static int NumericId(string id) => int.Parse(id.AsSpan(id.LastIndexOf('-') + 1), CultureInfo.InvariantCulture);

    [GeneratedRegex(@"(<userName>)([^<]*)(</userName>)")]
    private static partial Regex UserName();

    [GeneratedRegex(@"(<password>)([^<]*)(</password>)")]
    private static partial Regex Password();

    [GeneratedRegex(@"(?<=>)vm-\d+(?=<)")]
    private static partial Regex VmIdInText();

    [GeneratedRegex(@"(?<=<pids>|<pid>)\d+(?=</pids>|</pid>)")]
    private static partial Regex PidInText();

    [GeneratedRegex(@"vmware_soap_session=""?([^"";\s]+)""?")]
    private static partial Regex SessionCookie();

    [GeneratedRegex(@"<obj type=""VirtualMachine"">(vm-\d+)</obj><propSet><name>name</name><val[^>]*>([^<]+)</val>")]
    private static partial Regex CapturedVmName();

    private sealed class ReplayState
    {
        public Dictionary<string, string> SessionKeys { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> ViewIds { get; } = new(StringComparer.Ordinal);

        public int Logins { get; set; }

        /// <summary>Captured pid of a started program → ours.</summary>
        public Dictionary<string, string> Pids { get; } = new(StringComparer.Ordinal);

        /// <summary>Captured path of a CreateTemporaryFileInGuest → ours.</summary>
        public Dictionary<string, string> TemporaryNames { get; } = new(StringComparer.Ordinal);

        /// <summary>Captured /guestFile path and query → ours, and → the guest path it transfers.</summary>
        public Dictionary<string, string> TransferTargets { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> TransferPaths { get; } = new(StringComparer.Ordinal);

        /// <summary>Guest path → the bytes last uploaded to it.</summary>
        public Dictionary<string, byte[]> Uploaded { get; } = new(StringComparer.Ordinal);

        public int GuestCalls { get; set; }

        public int Transfers { get; set; }
    }
}
