using GuestOps.Channel.Messages;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using GuestOps.Host.Providers;
using Microsoft.Extensions.Logging.Abstractions;

namespace GuestOps.Tests.Host;

/// <summary>VMs without tools (per-VM provider none) and echo VMs (benchmarks only) in a host agent whose provider
/// would start a worker for any other VM.</summary>
[TestClass]
public sealed class VmToolsTests
{
    private string _state = null!;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void Setup() => _state = Directory.CreateTempSubdirectory("guestops-vmtools-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_state, recursive: true);

    [TestMethod]
    public async Task AVmWithoutTools_StartsNoWorker_IsNotReady_AndItsCallsFailAtOnceAsUnavailable()
    {
        var provider = new RefusingProvider();
        await using var agent = Agent(provider, Vm("vm-none", VmTools.None));
        agent.Start();
        Assert.AreEqual(0, provider.Starts);
        var snapshot = agent.GetVirtualMachine("vm-none")!;
        Assert.IsFalse(snapshot.Agent.Running);
        Assert.IsFalse(snapshot.Agent.OperationsReady);
        var e = await Assert.ThrowsExactlyAsync<GuestAgentException>(() => agent.InvokeGuestAsync("vm-none", new ValidateCredentialsRequest(), TestContext.CancellationToken));
        Assert.AreEqual(GuestAgentFailure.Unavailable, e.Failure);
    }

    [TestMethod]
    public async Task AnEchoVm_StartsNoWorker_IsReady_AndItsDispatcherAnswersItself()
    {
        var provider = new RefusingProvider();
        await using var agent = Agent(provider, Vm("vm-echo", VmTools.Echo));
        agent.Start();
        Assert.AreEqual(0, provider.Starts);
        var snapshot = agent.GetVirtualMachine("vm-echo")!;
        Assert.IsTrue(snapshot.Agent.OperationsReady);
        Assert.AreEqual(VmDispatcher.EchoSoftware, snapshot.Agent.ToolsVersion);

        var ct = TestContext.CancellationToken;
        var validated = await agent.InvokeGuestAsync("vm-echo", new ValidateCredentialsRequest(), ct);
        Assert.IsInstanceOfType<EmptyResult>(validated.Result);
        var listed = await agent.InvokeGuestAsync("vm-echo", new ListFilesRequest { Path = "/tmp" }, ct);
        Assert.IsEmpty(((ListFilesResult)listed.Result!).Entries);
        var started = await agent.InvokeGuestAsync("vm-echo", new StartProgramRequest { ProgramPath = "/bin/true" }, ct);
        Assert.AreEqual(GuestErrorCode.NotSupported, started.Error?.Code);
        var transfer = await Assert.ThrowsExactlyAsync<GuestAgentException>(() => agent.StartGuestDataCallAsync("vm-echo", new ListFilesRequest { Path = "/tmp" }, ct));
        Assert.AreEqual(GuestAgentFailure.Unavailable, transfer.Failure);
    }

    private HostAgent Agent(IVmProvider provider, VmDefinition vm) => new(
        [vm],
        new HostAgentOptions { StateDirectory = _state, Provider = provider, WorkerPath = "/nonexistent/guestops-tools" },
        TimeProvider.System,
        NullLoggerFactory.Instance);

    private static VmDefinition Vm(string id, VmTools tools) => new(
        new VmConfiguration { Id = id, Name = id + "-name", Uuid = Guid.NewGuid().ToString(), InstanceUuid = Guid.NewGuid().ToString() },
        [],
        Tools: tools);

    /// <summary>A provider that counts and refuses starts: none may happen for these VMs.</summary>
    private sealed class RefusingProvider : IVmProvider
    {
        public int Starts { get; private set; }

        public string Name => "refusing";

        public string Isolation => "none";

        public System.Diagnostics.Process Start(VmLaunch launch)
        {
            Starts++;
            throw new InvalidOperationException("no worker may be started for this VM");
        }
    }
}
