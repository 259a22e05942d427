using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Hostile SOAP beyond SoapEndpointTests (issue 9), against a server of its own so its memory can be measured: a 100 MB
/// envelope, 10 000-deep nesting, invalid UTF-8, missing required parameters, huge arrays (also into the guest), unknown
/// elements. Each small request is answered with a vim fault (or, for the unknown elements that XmlSerializer skips, a
/// normal answer) in under 100 ms (best of three, so a busy 2-core machine does not fail it), the server's resident
/// memory stays bounded, and it keeps serving without logging an internal error.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostileSoapTests : IntegrationTest
{
    /// <summary>The time a small hostile request must be answered in (best of three attempts).</summary>
    private static readonly TimeSpan Small = TimeSpan.FromMilliseconds(100);

    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        _server = await GuestServer.StartAsync(vmNames: ["hostile-vm-1"]);
    }

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private static ServerProcess Server => _server?.Server ?? throw new AssertFailedException("The server did not start.");

    private static string Vm => Moref.Vm("vm-1").Xml("vm");

    private static string Auth => GuestSoap.Auth("demo", GuestServer.GuestPassword);

    private static string Nest(int depth, string element = "a")
    {
        var builder = new StringBuilder(depth * (element.Length * 2 + 5));
        for (var i = 0; i < depth; i++)
        {
            builder.Append('<').Append(element).Append('>');
        }

        for (var i = 0; i < depth; i++)
        {
            builder.Append("</").Append(element).Append('>');
        }

        return builder.ToString();
    }

    [TestMethod]
    [DataRow("in the SOAP header")]
    [DataRow("in a parameter")]
    [DataRow("as nested selectSets")]
    public async Task TenThousandDeepNesting_GetsInvalidRequestQuickly(string where)
    {
        using var client = NewClient(Server);
        await client.LoginOkAsync();
        const int depth = 10_000;
        var body = where switch
        {
            "in the SOAP header" => Soap.Call("RetrieveServiceContent", Moref.ServiceInstance).Replace("<soapenv:Body>", $"<soapenv:Header>{Nest(depth)}</soapenv:Header><soapenv:Body>", StringComparison.Ordinal),
            "in a parameter" => Soap.Call("RetrieveServiceContent", Moref.ServiceInstance, Nest(depth)),
            _ => Soap.Call("RetrieveProperties", Moref.PropertyCollector,
                "<specSet><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type=\"Folder\">group-d1</obj>"
                + string.Concat(Enumerable.Repeat("<selectSet xsi:type=\"TraversalSpec\"><type>Folder</type><path>childEntity</path>", depth))
                + string.Concat(Enumerable.Repeat("</selectSet>", depth)) + "</objectSet></specSet>"),
        };
        await AssertQuickFaultAsync(client, body, $"{depth} nested elements {where}", "InvalidRequest");
        await AssertStillServingAsync(Server);
    }

    [TestMethod]
    [DataRow("a truncated two-byte sequence", new byte[] { 0xC3, 0x28 })]
    [DataRow("a lone continuation byte", new byte[] { 0x80 })]
    [DataRow("0xFF", new byte[] { 0xFF, 0xFE })]
    [DataRow("an overlong encoding of '/'", new byte[] { 0xC0, 0xAF })]
    [DataRow("an encoded surrogate", new byte[] { 0xED, 0xA0, 0x80 })]
    [DataRow("a code point above U+10FFFF", new byte[] { 0xF4, 0x90, 0x80, 0x80 })]
    [DataRow("a NUL byte", new byte[] { 0x00 })]
    public async Task InvalidUtf8_GetsInvalidRequestQuickly(string what, byte[] bad)
    {
        using var client = NewClient(Server);
        var envelope = Soap.Call("Login", Moref.SessionManager, "<userName>root@@</userName><password>x</password>");
        var bytes = Encoding.UTF8.GetBytes(envelope);
        var at = envelope.IndexOf("@@", StringComparison.Ordinal);
        var body = bytes[..at].Concat(bad).Concat(bytes[(at + 2)..]).ToArray();
        var best = TimeSpan.MaxValue;
        for (var attempt = 0; attempt < 3 && best >= Small; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/sdk") { Content = new ByteArrayContent(body) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "text/xml; charset=UTF-8");
            var response = await client.SendAsync(request, $"invalid UTF-8 ({what})", expectSoap: true);
            response.AssertFault("InvalidRequest", "RuntimeFaultFault");
            Assert.IsNull(response.SetCookie);
            best = response.Elapsed < best ? response.Elapsed : best;
        }

        TestContext.WriteLine($"{what}: best {best.TotalMilliseconds:0.0} ms");
        Assert.IsTrue(best < Small, $"{what}: answered in {best.TotalMilliseconds:0} ms at best");
        await AssertStillServingAsync(Server);
    }

    [TestMethod]
    [DataRow("Login without userName", "SessionManager", "Login", "<password>x</password>", "userName")]
    [DataRow("Login without password", "SessionManager", "Login", "<userName>root</userName>", "password")]
    [DataRow("RetrieveProperties without specSet", "PropertyCollector", "RetrieveProperties", "", "specSet")]
    [DataRow("ListFilesInGuest without vm", "GuestFileManager", "ListFilesInGuest", "@auth<filePath>/tmp</filePath>", "vm")]
    [DataRow("ListFilesInGuest without auth", "GuestFileManager", "ListFilesInGuest", "@vm<filePath>/tmp</filePath>", "auth")]
    [DataRow("ListFilesInGuest without filePath", "GuestFileManager", "ListFilesInGuest", "@vm@auth", "filePath")]
    [DataRow("StartProgramInGuest without spec", "GuestProcessManager", "StartProgramInGuest", "@vm@auth", "spec")]
    [DataRow("InitiateFileTransferToGuest without fileSize", "GuestFileManager", "InitiateFileTransferToGuest", "@vm@auth<guestFilePath>/tmp/x</guestFilePath><fileAttributes/><overwrite>true</overwrite>", "fileSize")]
    public async Task MissingRequiredParameter_GetsInvalidArgumentNamingIt(string what, string managerType, string operation, string parameters, string missing)
    {
        using var client = NewClient(Server);
        if (managerType != "SessionManager")
        {
            await client.LoginOkAsync();
        }

        var @this = managerType switch
        {
            "SessionManager" => Moref.SessionManager,
            "PropertyCollector" => Moref.PropertyCollector,
            "GuestFileManager" => GuestSoap.FileManager,
            _ => GuestOpsClient.ProcessManager,
        };
        var body = Soap.Call(operation, @this, parameters.Replace("@vm", Vm, StringComparison.Ordinal).Replace("@auth", Auth, StringComparison.Ordinal));
        var fault = await AssertQuickFaultAsync(client, body, what, "InvalidArgument");
        Assert.AreEqual(missing, (string?)fault.Detail.Element(Soap.Vim + "invalidProperty"), $"{what}: InvalidArgument.invalidProperty");
        await AssertStillServingAsync(Server);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task HugeArrays_AreAnsweredWithBoundedCost()
    {
        using var client = NewClient(Server);
        await client.LoginOkAsync();
        var rssBefore = ResidentMiB(Server.ProcessId);

        // 100 000 pids (~2.5 MB) and 100 000 variable names go to the guest; 50 000 environment strings with a program.
        var pids = string.Concat(Enumerable.Range(1, 100_000).Select(i => $"<pids>{i}</pids>"));
        var processes = await client.PostAsync(Soap.Call("ListProcessesInGuest", GuestOpsClient.ProcessManager, Vm + Auth + pids), "ListProcessesInGuest with 100000 pids");
        Report(processes);

        var names = string.Concat(Enumerable.Range(1, 100_000).Select(i => $"<names>V{i}</names>"));
        var environment = await client.PostAsync(Soap.Call("ReadEnvironmentVariableInGuest", GuestOpsClient.ProcessManager, Vm + Auth + names), "ReadEnvironmentVariableInGuest with 100000 names");
        Report(environment);

        var variables = string.Concat(Enumerable.Range(1, 50_000).Select(i => $"<envVariables>V{i}=x</envVariables>"));
        var started = await client.PostAsync(
            Soap.Call("StartProgramInGuest", GuestOpsClient.ProcessManager, Vm + Auth + $"<spec xsi:type=\"GuestProgramSpec\"><programPath>/bin/true</programPath><arguments></arguments>{variables}</spec>"),
            "StartProgramInGuest with 50000 envVariables");
        Report(started);

        // 300 000 pathSet entries (~7 MB) to the PropertyCollector.
        var props = await client.PostAsync(Soap.RetrieveProperties(Moref.RootFolder, Enumerable.Repeat("name", 300_000).ToArray()), "300000 pathSet entries");
        props.AssertOk("RetrieveProperties");
        TestContext.WriteLine($"300000 pathSet: {props.Elapsed.TotalMilliseconds:0} ms");

        foreach (var response in new[] { processes, environment, started, props })
        {
            Assert.IsTrue(response.Elapsed < TimeSpan.FromSeconds(5), $"{response.Description}: {response.Elapsed.TotalMilliseconds:0} ms");
        }

        var rssAfter = ResidentMiB(Server.ProcessId);
        TestContext.WriteLine($"server RSS {rssBefore:0} MiB before, {rssAfter:0} MiB after");
        Assert.IsTrue(rssAfter - rssBefore < 300, $"server RSS grew from {rssBefore:0} to {rssAfter:0} MiB");

        // The VM still answers ordinary calls.
        (await GuestSoap.ValidateCredentialsAsync(client, "vm-1", "demo", GuestServer.GuestPassword)).AssertOk("ValidateCredentialsInGuest");
        await AssertStillServingAsync(Server);

        void Report(SoapResponse response)
        {
            // Either an answer or a clear vim fault: never an HTTP error, a hang or a SystemError.
            Assert.IsTrue(response.StatusCode is 200 or 500, response.ToString());
            var outcome = response.StatusCode == 200 ? "answered" : response.ReadFault().Type + ": " + SoapResponse.Shorten(response.ReadFault().FaultString, 200);
            Assert.IsFalse(outcome.StartsWith("SystemError", StringComparison.Ordinal), $"{response.Description}: {outcome}");
            TestContext.WriteLine($"{response.Description}: {outcome} in {response.Elapsed.TotalMilliseconds:0} ms");
        }
    }

    [TestMethod]
    [DataRow("an unknown parameter", "Login", "<userName>root</userName><bogus>1</bogus><password>@pw</password>")]
    [DataRow("an unknown element inside a data object", "Login", "<userName>root</userName><password>@pw</password><locale><x>1</x>en</locale>")]
    [DataRow("an unknown element after the parameters", "Login", "<userName>root</userName><password>@pw</password><zzz xmlns=\"urn:other\"><deep/></zzz>")]
    public async Task UnknownElements_AreSkipped_AndTheCallIsAnsweredNormally(string what, string operation, string parameters)
    {
        // XmlSerializer skips elements it does not know (newer clients send fields of newer API versions); they change
        // nothing and cost nothing. This pins that behaviour.
        using var client = NewClient(Server);
        var body = Soap.Call(operation, Moref.SessionManager, parameters.Replace("@pw", Soap.Escape(Server.RootPassword!), StringComparison.Ordinal));
        var best = TimeSpan.MaxValue;
        SoapResponse? response = null;
        for (var attempt = 0; attempt < 3 && best >= Small; attempt++)
        {
            response = await client.PostAsync(body, $"Login with {what}");
            Assert.IsTrue(response.StatusCode is 200 or 500, response.ToString());
            best = response.Elapsed < best ? response.Elapsed : best;
        }

        TestContext.WriteLine($"{what}: HTTP {response!.StatusCode}, best {best.TotalMilliseconds:0} ms");
        if (response.StatusCode == 200)
        {
            Assert.IsNotNull(response.ReturnValues("Login").Single().Element(Soap.Vim + "key"));
        }
        else
        {
            response.AssertFault("InvalidRequest", "RuntimeFaultFault");
        }

        // PBKDF2 of a login is ~tens of ms; the budget here is a login's, not a small request's.
        Assert.IsTrue(best < TimeSpan.FromMilliseconds(500), $"{what}: answered in {best.TotalMilliseconds:0} ms at best");
        await AssertStillServingAsync(Server);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    [Timeout(120_000)]
    public async Task HundredMegabyteEnvelope_Gets413_WithBoundedMemory(bool chunked)
    {
        const long size = 100L * 1024 * 1024;
        var rssBefore = ResidentMiB(Server.ProcessId);
        var peak = rssBefore;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var sampler = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var sampling = Task.Run(async () =>
        {
            while (!sampler.IsCancellationRequested)
            {
                peak = Math.Max(peak, ResidentMiB(Server.ProcessId));
                await Task.Delay(20, CancellationToken.None);
            }
        });

        var clock = Stopwatch.StartNew();
        await using var connection = await RawHttpConnection.OpenAsync(Server.BaseUri, timeout.Token);
        var head = $"POST /sdk HTTP/1.1\r\nHost: 127.0.0.1:{Server.Port}\r\nContent-Type: text/xml; charset=UTF-8\r\nSOAPAction: \"urn:vim25/8.0.3.0\"\r\n"
            + (chunked ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {size.ToString(CultureInfo.InvariantCulture)}\r\n") + "\r\n";
        await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes(head), timeout.Token);
        var prefix = Encoding.UTF8.GetBytes(Soap.Envelope("<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>root</userName><password>").Split("</soapenv:Body>")[0]);
        var sender = Task.Run(async () =>
        {
            var piece = new byte[256 * 1024];
            Array.Fill(piece, (byte)'a');
            prefix.CopyTo(piece, 0);
            long sent = 0;
            try
            {
                while (sent < size && !timeout.IsCancellationRequested)
                {
                    var n = (int)Math.Min(piece.Length, size - sent);
                    if (chunked)
                    {
                        await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes(n.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), timeout.Token);
                    }

                    await connection.Stream.WriteAsync(piece.AsMemory(0, n), timeout.Token);
                    if (chunked)
                    {
                        await connection.Stream.WriteAsync("\r\n"u8.ToArray(), timeout.Token);
                    }

                    sent += n;
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // the server stopped reading once it had answered 413
            }

            return sent;
        });

        var response = await connection.ReadResponseAsync(timeout.Token);
        var answered = clock.Elapsed;
        await timeout.CancelAsync();
        var sent = await sender;
        await sampler.CancelAsync();
        await sampling;
        var rssAfter = ResidentMiB(Server.ProcessId);
        TestContext.WriteLine($"100 MB ({(chunked ? "chunked" : "Content-Length")}): HTTP {response.StatusCode} after {answered.TotalMilliseconds:0} ms, {sent / 1048576.0:0.0} MiB sent; server RSS {rssBefore:0} MiB before, peak {peak:0}, after {rssAfter:0}");
        Responses.Add(new RecordedResponse("100 MB request", response.StatusCode, response.Header("Content-Type"), response.BodyText, ExpectSoap: false));
        Assert.AreEqual(413, response.StatusCode, response.BodyText);
        Assert.IsTrue(answered < TimeSpan.FromSeconds(15), $"413 after {answered}");
        Assert.IsTrue(peak - rssBefore < 128, $"server RSS rose from {rssBefore:0} to {peak:0} MiB while 100 MB were sent");
        await AssertStillServingAsync(Server);
    }

    /// <summary>
    /// Issue 22: Python's http.client (pyVmomi's transport) sends the whole 100 MB body over TLS before it reads the
    /// answer; the server reads and discards it, so the client reads the 413 instead of failing on a closed connection
    /// (ssl.SSLEOFError), and the server's resident memory stays bounded while it does.
    /// </summary>
    [TestMethod]
    [Timeout(180_000)]
    public async Task PythonHttpClient_SendingAHundredMegabytesBeforeReading_Reads413_WithBoundedMemory()
    {
        const long size = 100L * 1024 * 1024;
        var rssBefore = ResidentMiB(Server.ProcessId);
        var peak = rssBefore;
        using var sampler = new CancellationTokenSource();
        var sampling = Task.Run(async () =>
        {
            while (!sampler.IsCancellationRequested)
            {
                peak = Math.Max(peak, ResidentMiB(Server.ProcessId));
                await Task.Delay(20, CancellationToken.None);
            }
        });

        PyVmomiRun post;
        try
        {
            post = await RunPyVmomiAsync("http_client_oversized_post.py",
                ["--host", "127.0.0.1", "--port", Server.Port.ToString(CultureInfo.InvariantCulture), "--size", size.ToString(CultureInfo.InvariantCulture)],
                TimeSpan.FromSeconds(150));
        }
        finally
        {
            await sampler.CancelAsync();
            await sampling;
        }

        using (post)
        {
            var result = post.Result;
            TestContext.WriteLine($"http.client: HTTP {result.GetProperty("status").GetInt32()} after sending {result.GetProperty("sent").GetInt64() / 1048576.0:0.0} MiB; server RSS {rssBefore:0} MiB before, peak {peak:0}");
            Assert.AreEqual(size, result.GetProperty("sent").GetInt64(), "http.client sent the whole body before reading");
            Assert.AreEqual(413, result.GetProperty("status").GetInt32(), result.GetProperty("body").GetString());
            StringAssert.Contains(result.GetProperty("body").GetString(), "MaxSoapRequestBytes");
            Assert.AreEqual("close", result.GetProperty("connection").GetString(), "the server closes the connection after the 413");
            Responses.Add(new RecordedResponse("100 MB request (http.client)", 413, "text/plain", result.GetProperty("body").GetString()!, ExpectSoap: false));
        }

        Assert.IsTrue(peak - rssBefore < 48, $"server RSS rose from {rssBefore:0} to {peak:0} MiB while it discarded 100 MB");
        await AssertStillServingAsync(Server);
    }

    /// <summary>Sends the body up to three times and asserts the fault; the best time must be under <see cref="Small"/>.</summary>
    private async Task<VimFault> AssertQuickFaultAsync(SoapClient client, string body, string what, string faultType)
    {
        var best = TimeSpan.MaxValue;
        VimFault? fault = null;
        for (var attempt = 0; attempt < 3 && best >= Small; attempt++)
        {
            var response = await client.PostAsync(body, what);
            fault = response.AssertFault(faultType);
            best = response.Elapsed < best ? response.Elapsed : best;
        }

        TestContext.WriteLine($"{what}: {fault!.Type} ({SoapResponse.Shorten(fault.FaultString, 160)}), best {best.TotalMilliseconds:0.0} ms");
        Assert.IsTrue(best < Small, $"{what}: answered in {best.TotalMilliseconds:0} ms at best");
        return fault;
    }

    /// <summary>VmRSS of a process, in MiB.</summary>
    public static double ResidentMiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        throw new InvalidOperationException($"No VmRSS for process {pid}.");
    }
}
